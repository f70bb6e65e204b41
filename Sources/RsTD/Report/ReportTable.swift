import Foundation

extension RewriteReport {
  /// The report as an aligned text table with a totals line, for a terminal.
  public var table: String {
    let header = ["site", "op", "shape", "format", "ranks", "shuffle", "params", "MACs/pos", "rel.err", "status"]
    var rows = [header]
    for s in sites {
      rows.append([
        s.node, s.opType, s.shape.map(String.init).joined(separator: "x") + (s.group > 1 ? " g\(s.group)" : ""),
        s.format ?? "-", s.ranks.map { $0.map(String.init).joined(separator: ",") } ?? "-", s.shuffle ?? "-",
        "\(s.paramsBefore)→\(s.paramsAfter)", "\(s.macsBefore)→\(s.macsAfter)",
        s.relativeError.map { String(format: "%.4f", $0) } ?? "-",
        s.status == .rewritten ? "rewritten" : "kept: \(s.reason ?? "")",
      ])
    }
    let widths = (0..<header.count).map { c in rows.map { $0[c].count }.max() ?? 0 }
    var lines = rows.map { row in
      zip(row, widths).enumerated().map { i, p in i == row.count - 1 ? p.0 : p.0.padding(toLength: p.1, withPad: " ", startingAt: 0) }
        .joined(separator: "  ")
    }
    let t = totals
    func ratio(_ a: Int, _ b: Int) -> String { b == 0 ? "-" : String(format: "%.3f", Double(a) / Double(b)) }
    lines.append(
      "total: \(t.sitesRewritten) rewritten, \(t.sitesKept) kept; params \(t.paramsBefore)→\(t.paramsAfter) (×\(ratio(t.paramsAfter, t.paramsBefore))); "
        + "MACs/pos \(t.macsBefore)→\(t.macsAfter) (×\(ratio(t.macsAfter, t.macsBefore))); "
        + "file \(t.fileSizeBefore)→\(dryRun ? "-" : String(t.fileSizeAfter)) bytes; \(String(format: "%.2f", t.seconds)) s")
    lines.append(measurement.summary)
    return lines.joined(separator: "\n")
  }
}
