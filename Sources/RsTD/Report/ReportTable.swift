import Foundation

extension RewriteReport {
  /// A site's predicted latency before → after, one decimal.
  private func micros(_ s: SiteReport) -> String {
    guard let a = s.predictedMicrosBefore, let b = s.predictedMicrosAfter else { return "-" }
    return String(format: "%.1f→%.1f", a, b)
  }

  /// The report as an aligned text table with a totals line, for a terminal.
  public var table: String {
    let header = ["site", "op", "shape", "format", "ranks", "shuffle", "params", "MACs/pos", "µs (pred.)", "rel.err", "status"]
    // The weights column appears only under --weights fp16|int8.
    let storage = sites.contains { $0.weights != nil }
    var rows = [header + (storage ? ["weights"] : [])]
    for s in sites {
      rows.append(storage ? [s.weights ?? "-"] : [])
      rows[rows.count - 1].insert(contentsOf: [
        s.node, s.opType, s.shape.map(String.init).joined(separator: "x") + (s.group > 1 ? " g\(s.group)" : ""),
        s.format ?? "-", s.ranks.map { $0.map(String.init).joined(separator: ",") } ?? "-", s.shuffle ?? "-",
        "\(s.paramsBefore)→\(s.paramsAfter)", "\(s.macsBefore)→\(s.macsAfter)", micros(s),
        s.relativeError.map { String(format: "%.4f", $0) } ?? "-",
        s.status == .rewritten ? "rewritten" : "kept: \(s.reason ?? "")",
      ], at: 0)
    }
    let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
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
    if t.predictedMicrosBefore > 0 {
      lines.append(
        "predicted latency of the sites: \(String(format: "%.0f", t.predictedMicrosBefore))→\(String(format: "%.0f", t.predictedMicrosAfter)) µs "
          + "(×\(String(format: "%.3f", t.predictedMicrosAfter / t.predictedMicrosBefore))); \(latency.runtime); positions \(latency.positions)")
    }
    if storage && !t.tensorBytesByType.isEmpty {
      lines.append("tensor bytes by type: " + t.tensorBytesByType.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }
    lines.append(measurement.summary)
    return lines.joined(separator: "\n")
  }
}
