import Foundation
import RsTD

/// `verify`'s result: a table (one row per output and a verdict line) or JSON, from the
/// library's per-output `OutputDeviation`, which the rewriter's output check measures with too.
extension OnnxRstd.Verify {
  /// Within `bound` and comparable.
  static func passes(_ row: OutputDeviation, _ bound: Double) -> Bool { (row.relativeL2.map { $0 <= bound }) ?? false }

  static func table(_ rows: [OutputDeviation], bound: Double, sets: Int, passed: Bool) -> String {
    var lines = [["output", "rel_l2", "max_abs", "status"]]
    for r in rows {
      let status = r.problem ?? (passes(r, bound) ? "ok" : "above \(String(format: "%.1e", bound))")
      lines.append([r.name, r.relativeL2.map { String(format: "%.3e", $0) } ?? "-",
                    r.problem == nil ? String(format: "%.3e", r.maxAbs) : "-", status])
    }
    let widths = (0..<4).map { c in lines.map { $0[c].count }.max() ?? 0 }
    let body = lines.map { row in
      zip(row, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        .trimmingCharacters(in: .whitespaces)
    }
    let worst = rows.compactMap(\.relativeL2).max().map { String(format: "%.3e", $0) } ?? "-"
    let verdict = "\(rows.count) output\(rows.count == 1 ? "" : "s"), \(sets) input set\(sets == 1 ? "" : "s"), largest rel_l2 \(worst), bound \(String(format: "%.1e", bound)): \(passed ? "OK" : "FAIL")"
    return (body + [verdict]).joined(separator: "\n")
  }

  static func json(_ rows: [OutputDeviation], bound: Double, sets: Int, passed: Bool) -> String {
    struct Row: Encodable {
      let name: String
      let relL2: Double?
      let maxAbs: Double?
      let problem: String?
      enum CodingKeys: String, CodingKey { case name, relL2 = "rel_l2", maxAbs = "max_abs", problem }
      // Absent values are written as null, not left out: every row has the four keys.
      func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(relL2, forKey: .relL2)
        try c.encode(maxAbs, forKey: .maxAbs)
        try c.encode(problem, forKey: .problem)
      }
    }
    struct Report: Encodable {
      let outputs: [Row]
      let maxRelError: Double
      let inputSets: Int
      let passed: Bool
      enum CodingKeys: String, CodingKey { case outputs, maxRelError = "max_rel_error", inputSets = "input_sets", passed }
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let data = (try? encoder.encode(Report(
      outputs: rows.map { Row(name: $0.name, relL2: $0.relativeL2, maxAbs: $0.problem == nil ? $0.maxAbs : nil, problem: $0.problem) },
      maxRelError: bound, inputSets: sets, passed: passed))) ?? Data()
    return String(decoding: data, as: UTF8.self)
  }
}
