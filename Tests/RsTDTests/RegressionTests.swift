import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// Bugs found by reading the planner and site finder, each pinned by the repro that showed it.
final class RegressionTests: XCTestCase {
  // x[1,64,8,8] ─▶ Conv "conv0" group 16 (w[64,4,3,3]) ─▶ y: 4 channels per group, 64 in all.
  func testGroupedConvWithFewChannelsPerGroupIsNotAStem() throws {
    let model = try TestModel.conv(weightShape: [64, 4, 3, 3], group: 16)
    let rows = try rewritten(model, RewriteOptions()).rows
    XCTAssertFalse(rows[0].reason?.hasPrefix("input stem") ?? false, "\(rows[0])")
    // A real stem (3 input channels) is still kept by the default policy.
    let stem = try TestModel.conv(weightShape: [16, 3, 3, 3])
    XCTAssertEqual(try rewritten(stem, RewriteOptions()).rows[0].reason?.hasPrefix("input stem (3 input channels)"), true)
  }

  // a[2,3] ─┐
  //         ├▶ MatMul "mm" ─▶ y      two activations: nothing constant to factor
  // bb[3,4] ┘
  func testMatMulOfTwoInputsIsKeptNotAnError() throws {
    var b = TestGraphBuilder()
    b.input("a", shape: [2, 3])
    b.input("bb", shape: [3, 4])
    b.output("y", shape: [2, 4])
    b.node("MatMul", name: "mm", inputs: ["a", "bb"], outputs: ["y"])
    var options = RewriteOptions()
    options.includeLinear = true
    let rows = try rewritten(try b.model(), options).rows
    XCTAssertEqual(rows.map(\.status), [.kept])
    XCTAssertEqual(rows[0].reason, "weight 'bb' is computed at run time (not a constant)")
  }

  // x[1,32,8,8] ─▶ Conv "conv0" (w[32,32,3,3] of matrix rank 4) ─▶ y
  func testCPUnderAnErrorBoundMeetsTheBoundOrKeepsTheSite() throws {
    var rng = SeededNormal(seed: 5)
    let w = matmul(rng.tensor([32, 4]), rng.tensor([4, 288])).reshaped([32, 32, 3, 3])
    let model = try TestModel.conv(weightShape: [32, 32, 3, 3], weight: w)
    var options = chainTestOptions()
    options.method = .cp
    options.ranks = .maxError(0.3)
    let row = try rewritten(model, options).rows[0]
    if row.status == .rewritten {
      XCTAssertLessThanOrEqual(row.relativeError!, 0.3 + 1e-9, "\(row)")
    } else {
      XCTAssertEqual(row.reason, "no profitable rank (fewer parameters and multiply-adds, predicted faster) keeps relative error ≤ 0.3")
    }
  }

  // x ─▶ Conv "conv0" ─▶ Relu ─▶ Conv "conv1" ─▶ y, both [16,16,3,3]: rank 1 holds 2·(16+144) = 320.
  func testRatioBelowRankOneIsRefused() throws {
    let model = try TestModel.chain([.init("conv0", outputChannels: 16), .init("conv1", outputChannels: 16)], inputChannels: 16)
    var options = chainTestOptions()
    options.method = .svd
    options.ranks = .ratio(0.01)
    XCTAssertThrowsError(try rewritten(model, options)) { error in
      guard case RewriteError.budgetTooSmall(let ratio, let minimum, .params) = error else { return XCTFail("\(error)") }
      XCTAssertEqual(ratio, 0.01)
      XCTAssertEqual(minimum, 320.0 / 4608.0, accuracy: 1e-12)
    }
  }

  // x[1,16,8,8] ─▶ Conv "conv0" (w[16,16,3,3]) ─▶ y, opset 9: the identity rebuild needs only
  // MatMul and Reshape; a shuffled one needs Range (opset 11).
  func testReconstructedWithoutShuffleRunsOnOpset9() throws {
    let model = try TestModel.conv(weightShape: [16, 16, 3, 3], opset: 9)
    var none = fullRankOptions(.svd, layout: .reconstructed, shuffle: .none)
    none.force = true
    XCTAssertEqual(try rewritten(model, none).rows.map(\.status), [.rewritten])
    var random = none
    random.shuffle = .random
    XCTAssertEqual(
      try rewritten(model, random).rows.map(\.reason),
      ["Range (in-graph shuffle indices) needs opset 11; the model imports opset 9"])
  }

  // x[1,8,8,8] ─▶ Conv "conv0" (w[2,8,1,1]) ─▶ y: --ratio 1 leaves every layer whole, whatever
  // the method (cp used to take rank 1 from its borrowed svd curve).
  func testRatioOneChangesNothing() throws {
    let model = try TestModel.conv(weightShape: [2, 8, 1, 1])
    for method in Method.allCases {
      var options = RewriteOptions()
      options.method = method
      options.ranks = .ratio(1)
      XCTAssertEqual(try rewritten(model, options).rows.map(\.status), [.kept], "\(method)")
    }
  }
}
