import Foundation
import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// `inspect` and `Rewriter.run`, the two public entry points besides `rewrite`.
final class InspectionAndRunTests: XCTestCase {
  // x[1,8,8,8] ─▶ Conv "conv0" (w = diag(4,3,2,1,0.5,0,0,0) as [8,8,1,1]) ─▶ Relu
  //            ─▶ Conv "dw" group 8 (w[8,1,3,3]) ─▶ Relu ─▶ Conv "late" (w = graph input "wl") ─▶ y
  private func model() throws -> Model {
    var b = TestGraphBuilder()
    var rng = SeededNormal(seed: 51)
    var w = Tensor(zeros: [8, 8, 1, 1])
    for (i, s) in [4, 3, 2, 1, 0.5].enumerated() { w.scalars[i * 8 + i] = Float(s) }
    b.input("x", shape: [1, 8, 8, 8])
    b.input("wl", shape: [8, 8, 1, 1])
    b.initializer("w0", w)
    b.initializer("wd", rng.tensor([8, 1, 3, 3]))
    b.node("Conv", name: "conv0", inputs: ["x", "w0"], outputs: ["c0"])
    b.node("Relu", name: "r0", inputs: ["c0"], outputs: ["t0"])
    b.node("Conv", name: "dw", inputs: ["t0", "wd"], outputs: ["c1"], attributes: [Attribute("group", .int(8)), Attribute("pads", .ints([1, 1, 1, 1]))])
    b.node("Relu", name: "r1", inputs: ["c1"], outputs: ["t1"])
    b.node("Conv", name: "late", inputs: ["t1", "wl"], outputs: ["y"])
    b.output("y", shape: [1, 8, 8, 8])
    return try b.model()
  }

  // Energy ranks of diag(4,3,2,1,0.5): energies 16, 9, 4, 1, 0.25 of 30.25; 90% needs 3 values
  // (29/30.25 = 0.959), 99% needs 4 (30/30.25 = 0.992). A graph-input weight is reported, not thrown.
  func testInspectReportsEveryConv() throws {
    let rows = try inspect(try model())
    XCTAssertEqual(rows.map(\.node), ["conv0", "dw", "late"])
    XCTAssertEqual(rows.map(\.eligible), [true, false, false])
    XCTAssertEqual(rows[0].rank90, 3)
    XCTAssertEqual(rows[0].rank99, 4)
    XCTAssertEqual(rows[0].fullRank, 8)
    XCTAssertEqual(rows[0].params, 64)
    XCTAssertEqual(rows[0].weightSource, "initializer")
    XCTAssertEqual(rows[1].reason, SkipReason.depthwise.description)
    XCTAssertEqual(rows[1].shape, [8, 1, 3, 3])
    XCTAssertEqual(rows[1].constant, true)
    XCTAssertEqual(rows[2].reason, "weight 'wl' is computed at run time (not a constant)")
    XCTAssertEqual(rows[2].constant, false)
    XCTAssertEqual(rows[2].params, 0)
  }

  // run: reads the file, writes the output with metadata, leaves the input untouched, and its
  // totals add up the rows.
  // x[1,8,8,8] ─▶ Conv "conv0" (w[8,8,3,3]) ─▶ Relu ─▶ Conv "conv1" (w[8,8,3,3]) ─▶ y
  func testRunWritesTheRewrittenModelAndTotals() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rstd-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let input = folder.appendingPathComponent("in.onnx").path, output = folder.appendingPathComponent("out.onnx").path
    let model = try TestModel.chain([.init("conv0", outputChannels: 8), .init("conv1", outputChannels: 8)], inputChannels: 8)
    try model.save(to: input)
    let inputBytes = try Data(contentsOf: URL(fileURLWithPath: input))

    var options = chainTestOptions()
    options.method = .svd
    options.ranks = .fixed(2)
    let report = try Rewriter(options: options).run(input: input, output: output)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: input)), inputBytes, "input modified")
    XCTAssertEqual(report.sites.map(\.status), [.rewritten, .rewritten])
    XCTAssertEqual(report.totals.sitesRewritten, 2)
    XCTAssertEqual(report.totals.sitesKept, 0)
    XCTAssertEqual(report.totals.paramsBefore, 2 * 576)
    XCTAssertEqual(report.totals.paramsAfter, 2 * 2 * (72 + 8))
    XCTAssertEqual(report.totals.fileSizeBefore, inputBytes.count)
    XCTAssertGreaterThan(report.totals.fileSizeAfter, 0)
    XCTAssertLessThan(report.totals.fileSizeAfter, report.totals.fileSizeBefore)

    let written = try Model.load(path: output)
    XCTAssertEqual(written.metadata("onnx-rstd.version"), Rewriter.version)
    XCTAssertEqual(
      written.metadata("onnx-rstd.options"),
      "channel-align=1 check=measure-only, synthetic samples=4 exclude= fit=weights force=false include-linear=false include= latency-guard=off layout=factorized method=svd objective=params ranks=rank=2 seed=1810 shuffle=none")
    XCTAssertEqual(opCounts(written.graph), ["Conv": 4, "Relu": 1])

    // A dry run writes nothing.
    let dry = folder.appendingPathComponent("dry.onnx").path
    let dryReport = try Rewriter(options: options).run(input: input, output: dry, dryRun: true)
    XCTAssertFalse(FileManager.default.fileExists(atPath: dry))
    XCTAssertNil(dryReport.output)
    XCTAssertEqual(dryReport.sites, report.sites)
  }
}
