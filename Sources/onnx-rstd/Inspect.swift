import ArgumentParser
import Foundation
import ONNX
import RsTD

extension OnnxRstd {
  struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List every Conv, Gemm and MatMul: weight, costs, eligibility and energy ranks.",
      discussion: ExitStatus.help)

    @Argument(help: "The ONNX model to read.")
    var model: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
      do {
        let rows = try RsTD.inspect(Model.load(path: model))
        if json {
          let encoder = JSONEncoder()
          encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
          print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        } else {
          print(table(rows))
        }
      } catch {
        ExitStatus.fail(error)
      }
    }

    private func table(_ rows: [SiteInspection]) -> String {
      var lines = [["node", "op", "shape", "group", "params", "MACs/pos", "weight", "eligible", "rank90/99/full"]]
      for r in rows {
        lines.append([
          r.node, r.opType, r.shape.map(String.init).joined(separator: "x"), String(r.group), String(r.params), String(r.macs),
          r.weightSource ?? "computed at run time", r.eligible ? "yes" : "no: \(r.reason ?? "")",
          r.rank90.map { "\($0)/\(r.rank99!)/\(r.fullRank!)" } ?? "-",
        ])
      }
      let widths = (0..<lines[0].count).map { c in lines.map { $0[c].count }.max() ?? 0 }
      return lines.map { row in
        zip(row, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
          .trimmingCharacters(in: .whitespaces)
      }.joined(separator: "\n")
    }
  }
}
