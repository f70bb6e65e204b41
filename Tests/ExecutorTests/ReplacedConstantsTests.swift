import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import Executor

/// `Executor.run(_:replacing:)`: a run with other weights gives the bits of the model compiled
/// with them, and only weights no step was built from can be replaced.
final class ReplacedConstantsTests: XCTestCase {
  private func chain(_ weights: [Tensor]) throws -> Model {
    let layers = weights.enumerated().map { i, w in
      TestModel.ConvLayer("conv\(i)", outputChannels: w.shape[0], kernel: Array(w.shape[2...]), attributes: [Attribute("pads", .ints([1, 1, 1, 1]))], weight: w)
    }
    return try TestModel.chain(layers, inputChannels: weights[0].shape[1])
  }

  private func bits(_ outputs: [String: TensorValue]) throws -> [UInt32] { try XCTUnwrap(outputs["y"]?.floats).map(\.bitPattern) }

  func testAReplacedWeightGivesTheBitsOfTheModelCompiledWithIt() throws {
    var rng = SeededNormal(seed: 3)
    let weights = [rng.tensor([4, 3, 3, 3]), rng.tensor([4, 4, 3, 3]), rng.tensor([2, 4, 3, 3])]
    var changed = weights
    changed[1] = rng.tensor([4, 4, 3, 3])
    changed[2] = rng.tensor([2, 4, 3, 3])
    let original = try Executor(model: try chain(weights)), compiled = try Executor(model: try chain(changed))
    let x = ["x": TensorValue(shape: [1, 3, 8, 8], floats: rng.tensor([1, 3, 8, 8]).scalars)]
    let before = try bits(try original.run(x))
    let replaced = try original.run(x, replacing: [
      "conv1.w": TensorValue(shape: changed[1].shape, floats: changed[1].scalars),
      "conv2.w": TensorValue(shape: changed[2].shape, floats: changed[2].scalars),
    ])
    XCTAssertEqual(try bits(replaced), try bits(try compiled.run(x)))
    XCTAssertNotEqual(try bits(replaced), before)
    XCTAssertEqual(try bits(try original.run(x)), before, "the plan keeps its own weights")
  }

  /// ```
  /// x ─▶ Conv(w) ─▶ BatchNormalization(s, b, m, v) ─▶ Add(k) ─▶ Conv(u) ─▶ y      (BN and Add fold into the first Conv)
  ///                                          Conv(u, u) ─▶ z                    (folded: u read at compile time)
  ///                          Constant cw ─▶ Conv(a, cw) ─▶ y3                   (a Constant node's weight)
  /// ```
  func testOnlyWeightsReadAsTheModelRunsCanBeReplaced() throws {
    var rng = SeededNormal(seed: 4)
    var b = TestGraphBuilder(opset: 13)
    b.input("x", shape: [1, 2, 4, 4])
    b.initializer("w", rng.tensor([2, 2, 1, 1]))
    b.node("Conv", name: "c0", inputs: ["x", "w"], outputs: ["c"])
    for p in ["s", "bias", "m"] { b.initializer(p, rng.tensor([2])) }
    b.initializer("v", Tensor(shape: [2], scalars: [1, 2]))
    b.node("BatchNormalization", name: "bn", inputs: ["c", "s", "bias", "m", "v"], outputs: ["n"])
    b.initializer("k", Tensor(shape: [1], scalars: [0.5]))
    b.node("Add", name: "add", inputs: ["n", "k"], outputs: ["a"])
    b.initializer("u", rng.tensor([2, 2, 1, 1]))
    b.node("Conv", name: "c1", inputs: ["a", "u"], outputs: ["y"])
    b.node("Conv", name: "c2", inputs: ["u", "u"], outputs: ["z"])
    b.constantNode(name: "const", output: "cw", rng.tensor([2, 2, 1, 1]))
    b.node("Conv", name: "c3", inputs: ["a", "cw"], outputs: ["y3"])
    for o in ["y", "z", "y3"] { b.output(o, shape: [nil, 2, nil, nil]) }
    let executor = try Executor(model: try b.model())
    XCTAssertTrue(executor.plan.canReplace("w"))
    XCTAssertTrue(executor.plan.canReplace("cw"), "a Constant node's output, read only as a weight")
    XCTAssertEqual(executor.plan.opTypes.filter { $0 == "Conv" }.count, 3, "c2 folded")
    for name in ["u", "s", "bias", "m", "v", "k", "x", "c", "a", "y", "nope"] {
      XCTAssertFalse(executor.plan.canReplace(name), name)
    }
    let x = ["x": TensorValue(shape: [1, 2, 4, 4], floats: rng.tensor([1, 2, 4, 4]).scalars)]
    XCTAssertThrowsError(try executor.run(x, replacing: ["k": TensorValue(shape: [1], floats: [2])])) {
      guard case ExecutorError.cannotReplace(name: "k", _) = $0 else { return XCTFail("\($0)") }
    }
    XCTAssertThrowsError(try executor.run(x, replacing: ["w": TensorValue(shape: [2, 2, 1, 2], floats: [Float](repeating: 1, count: 8))])) {
      guard case ExecutorError.cannotReplace(name: "w", _) = $0 else { return XCTFail("\($0)") }
    }
    XCTAssertNoThrow(try executor.run(x, replacing: ["w": TensorValue(shape: [2, 2, 1, 1], floats: [1, 0, 0, 1])]))
  }
}
