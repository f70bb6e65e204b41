import Foundation
import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// The report rows as JSON (a fixed set of keys, nulls included) and as a table.
final class ReportTests: XCTestCase {
  // x[1,4,8,8] ─▶ Conv "conv0" (w[8,4,3,3]) ─▶ Relu ─▶ Conv "conv1" (w[8,8,3,3]) ─▶ y; conv1 excluded.
  private func rows() throws -> [SiteReport] {
    let model = try TestModel.chain([.init("conv0", outputChannels: 8), .init("conv1", outputChannels: 8)], inputChannels: 4)
    var options = fullRankOptions(.svd)
    options.exclude = ["conv1"]
    return try rewritten(model, options).rows
  }

  func testRowsEncodeEveryKeyWithNulls() throws {
    let rows = try rows()
    let keys = [
      "errorShare", "format", "group", "lowRankError", "macsAfter", "macsBefore", "node", "opType", "outputErrorAlone", "paramsAfter",
      "paramsBefore", "predictedMicrosAfter", "predictedMicrosBefore", "probeRank", "ranks", "reason", "relativeError", "shape", "shuffle",
      "siteOutputError", "siteOutputErrorUncorrected", "status", "weight", "weightSource", "weights",
    ]
    for row in rows {
      let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: JSONEncoder().encode(row)) as? [String: Any])
      XCTAssertEqual(object.keys.sorted(), keys, row.node)
    }
    let kept = try XCTUnwrap(try JSONSerialization.jsonObject(with: JSONEncoder().encode(rows[1])) as? [String: Any])
    XCTAssert(kept["format"] is NSNull, "\(String(describing: kept["format"]))")
    XCTAssert(kept["relativeError"] is NSNull)
    XCTAssertEqual(kept["reason"] as? String, "excluded by --exclude 'conv1'")
    // Round trip.
    XCTAssertEqual(try JSONDecoder().decode([SiteReport].self, from: JSONEncoder().encode(rows)), rows)
  }

  func testTableHasOneLinePerSiteAndTotals() throws {
    let rows = try rows()
    var totals = ReportTotals(
      sitesRewritten: 1, sitesKept: 1, paramsBefore: rows.reduce(0) { $0 + $1.paramsBefore },
      paramsAfter: rows.reduce(0) { $0 + $1.paramsAfter }, macsBefore: 0, macsAfter: 0, fileSizeBefore: 10, fileSizeAfter: 5, seconds: 0)
    totals.predictedMicrosBefore = 10
    totals.predictedMicrosAfter = 5
    let report = RewriteReport(
      tool: "onnx-rstd", version: Rewriter.version, options: [:], input: "in.onnx", output: "out.onnx", dryRun: false,
      sites: rows, totals: totals, measurement: .off(), latency: LatencyPrediction(runtime: "r", positions: "p"))
    let lines = report.table.split(separator: "\n").map(String.init)
    // Sites, totals, predicted latency, measurement.
    XCTAssertEqual(lines.count, 6, report.table)
    XCTAssert(lines[0].hasPrefix("site"), lines[0])
    // svd at full rank 8 on [8,4,3,3]: 8·(36 + 8) = 352 parameters.
    XCTAssert(lines[1].hasPrefix("conv0") && lines[1].contains("288→352") && lines[1].hasSuffix("rewritten"), lines[1])
    XCTAssert(lines[2].hasPrefix("conv1") && lines[2].hasSuffix("kept: excluded by --exclude 'conv1'"), lines[2])
    XCTAssert(lines[3].hasPrefix("total: 1 rewritten, 1 kept; params 864→928"), lines[3])
    XCTAssert(lines[4].hasPrefix("predicted latency of the sites: 10→5 µs (×0.500); r; positions p"), lines[4])
    XCTAssert(lines[5].hasPrefix("outputs not measured (--no-check)"), lines[5])
  }
}
