import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// What a rewrite must preserve or clean up besides the chain itself.
final class OutputHygieneTests: XCTestCase {
  // IR 3: initializers must also be graph inputs, so new factors are declared as inputs and the
  // old weight leaves the inputs and its value_info.
  // x[1,4,8,8] ─▶ Conv "conv0" (w[8,4,3,3], initializer and graph input) ─▶ y
  func testIRBelow4DeclaresNewInitializersAsInputs() throws {
    var b = TestGraphBuilder(irVersion: 3)
    var rng = SeededNormal(seed: 41)
    b.input("x", shape: [1, 4, 8, 8])
    b.input("w", shape: [8, 4, 3, 3])
    b.initializer("w", rng.tensor([8, 4, 3, 3]))
    b.valueInfo("w", shape: [8, 4, 3, 3])
    b.node("Conv", name: "conv0", inputs: ["x", "w"], outputs: ["y"])
    b.output("y", shape: [1, 8, 6, 6])
    let model = try b.model()
    XCTAssertEqual(try onlySite(model).weightSource, .initializerAndGraphInput)
    let (out, rows) = try rewritten(model, fullRankOptions(.svd))
    XCTAssertEqual(rows.map(\.status), [.rewritten])
    let c = try ModelContents(out)
    XCTAssertEqual(c.inputs, ["x", "conv0/svd_right", "conv0/svd_left"])
    XCTAssertEqual(c.initializers, ["conv0/svd_right", "conv0/svd_left"])
    XCTAssertEqual(c.valueInfo, [])
    XCTAssertEqual(out.irVersion, 3)
    try assertWellFormed(out)
  }

  // Unrelated parts of the model survive: value_info of surviving values, an unused
  // initializer, the opset import.
  // x ─▶ Conv "conv0" ─▶ c0 (value_info) ─▶ Relu ─▶ y;  "spare" initializer read by nothing
  func testUnrelatedContentIsPreserved() throws {
    var b = TestGraphBuilder(opset: 17)
    var rng = SeededNormal(seed: 42)
    b.input("x", shape: [1, 4, 8, 8])
    b.initializer("w", rng.tensor([8, 4, 3, 3]))
    b.initializer("spare", rng.tensor([3]))
    b.valueInfo("c0", shape: [1, 8, 6, 6])
    b.node("Conv", name: "conv0", inputs: ["x", "w"], outputs: ["c0"])
    b.node("Relu", name: "relu", inputs: ["c0"], outputs: ["y"])
    b.output("y", shape: [1, 8, 6, 6])
    let (out, _) = try rewritten(try b.model(), fullRankOptions(.tucker2))
    let c = try ModelContents(out)
    XCTAssertEqual(c.valueInfo, ["c0"])
    XCTAssertEqual(c.initializers, ["spare", "conv0/tucker2_in", "conv0/tucker2_core", "conv0/tucker2_out"])
    XCTAssertEqual(c.opsets, ["": 17])
    XCTAssertEqual(out.graph.nodes.last?.name, "relu")
  }
}
