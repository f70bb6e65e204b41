import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// Negative cases: a kept site leaves the model byte-for-byte unchanged, and the report row
/// carries the reason text unchanged.
final class KeptSiteTests: XCTestCase {
  /// Rewrites `model`, asserts its bytes did not change, and returns the report's reasons.
  private func assertUnchanged(
    _ model: Model, _ options: RewriteOptions, file: StaticString = #filePath, line: UInt = #line
  ) throws -> [String?] {
    let before = try model.serializedData()
    let (out, rows) = try rewritten(model, options)
    XCTAssertEqual(try out.serializedData(), before, "the model changed", file: file, line: line)
    XCTAssertEqual(rows.map(\.status), rows.map { _ in SiteStatus.kept }, file: file, line: line)
    for r in rows {
      XCTAssertEqual(r.paramsAfter, r.paramsBefore, file: file, line: line)
      XCTAssertNil(r.format, file: file, line: line)
    }
    return rows.map(\.reason)
  }

  // x ─▶ Conv "conv0" ─▶ Relu ─▶ Conv "conv1" ─▶ y, everything excluded.
  func testExcludeEverythingLeavesTheModelUnchanged() throws {
    let model = try TestModel.chain([.init("conv0", outputChannels: 8), .init("conv1", outputChannels: 8)], inputChannels: 4)
    var options = fullRankOptions(.svd)
    options.exclude = ["*"]
    XCTAssertEqual(try assertUnchanged(model, options), ["excluded by --exclude '*'", "excluded by --exclude '*'"])
  }

  // x[1,8,8,8] ─▶ Conv "conv0" group 8 (w[8,1,3,3]) ─▶ y
  func testDepthwiseLeavesTheModelUnchanged() throws {
    let model = try TestModel.conv(weightShape: [8, 1, 3, 3], group: 8)
    XCTAssertEqual(
      try assertUnchanged(model, fullRankOptions(.svd)),
      ["depthwise convolution (one input channel per group): nothing to factor"])
  }

  // x[1,4,8,8] ─▶ Conv "conv0" (w[4,4,1,1]) ─▶ y: at rank 4 svd stores 4·(4+4) = 32 > 16.
  func testUnprofitableChainIsKept() throws {
    let model = try TestModel.conv(weightShape: [4, 4, 1, 1])
    var options = RewriteOptions()
    options.method = .svd
    options.ranks = .fixed(4)
    XCTAssertEqual(
      try assertUnchanged(model, options), ["not profitable: parameters 16 → 32, multiply-adds 16 → 32"])
    // The planner's decision, typed.
    let site = try onlySite(model)
    let kernel = try site.kernel(in: model.graph)
    let plan = try Planner(options: options, opset: 13).plan([PlannedSite(site, kernel: kernel)])
    guard case .keep(let reason) = plan[0] else { return XCTFail("planned \(plan[0])") }
    XCTAssertEqual(reason, .notProfitable(paramsBefore: 16, paramsAfter: 32, macsBefore: 16, macsAfter: 32))
    // With force the same plan is emitted.
    options.force = true
    XCTAssertEqual(try rewritten(model, options).rows.map(\.status), [.rewritten])
  }

  // A format that cannot handle the site keeps it with the format's reason.
  // x[1,8,8,8] ─▶ Conv "conv0" group 2 (w[8,4,3,3]) ─▶ y, method cp.
  func testFormatThatCannotRewriteKeepsTheSite() throws {
    let model = try TestModel.conv(weightShape: [8, 4, 3, 3], group: 2)
    XCTAssertEqual(
      try assertUnchanged(model, fullRankOptions(.cp)), ["cp cannot rewrite it: grouped convs use svd or tucker2"])
  }

  // kron's Tile needs opset 6.
  // x[1,4,8,8] ─▶ Conv "conv0" (w[8,4,3,3]) ─▶ y at opset 5.
  func testOpsetTooOldForTheFormatKeepsTheSite() throws {
    let model = try TestModel.conv(weightShape: [8, 4, 3, 3], opset: 5)
    XCTAssertEqual(
      try assertUnchanged(model, fullRankOptions(.kron)), ["Tile with a repeats input needs opset 6; the model imports opset 5"])
  }

  // The default policy keeps an input stem (≤ 4 input channels).
  // x[1,3,8,8] ─▶ Conv "conv0" (w[16,3,3,3]) ─▶ y
  func testDefaultPolicyKeepsTheStem() throws {
    let model = try TestModel.conv(weightShape: [16, 3, 3, 3])
    let reasons = try assertUnchanged(model, RewriteOptions())
    XCTAssertEqual(reasons.count, 1)
    XCTAssert(reasons[0]?.hasPrefix("input stem (3 input channels)") == true, "\(reasons)")
  }

  // An opset outside 1…28 stops the whole rewrite.
  func testUnsupportedOpsetThrows() throws {
    var m = try TestModel.conv(weightShape: [8, 4, 3, 3], opset: 99)
    XCTAssertThrowsError(try Rewriter(options: RewriteOptions()).rewrite(&m)) { error in
      XCTAssertEqual(error as? RewriteError, .unsupportedOpset(version: 99, supported: 1...28))
    }
  }
}
