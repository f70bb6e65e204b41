import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// Every format at full rank computes the same outputs as the original layer, checked with
/// `ReferenceEvaluator` (Double arithmetic, no runtime) on seeded inputs.
///
/// Tolerance: the factors are stored as Float32, so outputs carry relative rounding ≈ 1e-7·√(terms)
/// (measured ≤ 7e-7 over all cases below); 1e-5 leaves over 10× headroom, while a wrong index, pad or
/// group gives errors of order 1.
final class OutputEquivalenceTests: XCTestCase {
  private let tolerance = 1e-5

  private func assertSameOutputs(
    _ model: Model, _ options: RewriteOptions, input: [Int], _ label: String,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    var rng = SeededNormal(seed: 99)
    let feeds = ["x": rng.tensor(input)]
    let (out, rows) = try rewritten(model, options)
    XCTAssertEqual(rows.map(\.status), rows.map { _ in SiteStatus.rewritten }, "\(label): \(rows.map { $0.reason ?? "" })", file: file, line: line)
    let expected = try ReferenceEvaluator(model).run(feeds)
    let actual = try ReferenceEvaluator(out).run(feeds)
    XCTAssertEqual(Set(actual.keys), Set(expected.keys), file: file, line: line)
    for (name, e) in expected {
      assertRelativeError(try XCTUnwrap(actual[name]), e, below: tolerance, "\(label) '\(name)'", file: file, line: line)
    }
  }

  // x[1,4,8,8] ─▶ Conv "conv0" (w[8,4/g,3,3], b, spatial attributes) ─▶ y, for every format
  // and layout that takes the conv, under several spatial settings.
  func testEveryFormatMatchesTheOriginalConv() throws {
    let spatial: [(String, [Attribute])] = [
      ("plain", []),
      ("pads 1", [Attribute("pads", .ints([1, 1, 1, 1]))]),
      ("strides 2, asymmetric pads", [Attribute("strides", .ints([2, 1])), Attribute("pads", .ints([0, 1, 1, 0]))]),
      ("dilations 2", [Attribute("dilations", .ints([2, 1]))]),
      ("auto_pad VALID", [Attribute("auto_pad", .string("VALID"))]),
      // 8 inputs, stride 2, 3 taps: one unit of padding, so UPPER and LOWER differ.
      ("auto_pad SAME_UPPER, strides 2", [Attribute("auto_pad", .string("SAME_UPPER")), Attribute("strides", .ints([2, 2]))]),
      ("auto_pad SAME_LOWER, strides (2,1)", [Attribute("auto_pad", .string("SAME_LOWER")), Attribute("strides", .ints([2, 1]))]),
    ]
    let formats: [(String, RewriteOptions)] = [
      ("svd", fullRankOptions(.svd)),
      ("tucker2", fullRankOptions(.tucker2)),
      ("cp", fullRankOptions(.cp)),
      ("kron", fullRankOptions(.kron)),
      ("spatial", fullRankOptions(.spatial)),
      ("kron random", fullRankOptions(.kron, shuffle: .random)),
      ("kron search", fullRankOptions(.kron, shuffle: .search)),
      ("reconstructed svd", fullRankOptions(.svd, layout: .reconstructed)),
      ("reconstructed svd random", fullRankOptions(.svd, layout: .reconstructed, shuffle: .random)),
      ("reconstructed tucker2 random", fullRankOptions(.tucker2, layout: .reconstructed, shuffle: .random)),
    ]
    for (s, attributes) in spatial {
      let model = try TestModel.conv(weightShape: [8, 4, 3, 3], attributes: attributes, seed: 31)
      for (f, options) in formats {
        try assertSameOutputs(model, options, input: [1, 4, 8, 8], "\(f), \(s)")
      }
    }
    // Without a bias (kron then has no bias Gather).
    let noBias = try TestModel.conv(weightShape: [8, 4, 3, 3], bias: false, seed: 35)
    for (f, options) in formats {
      try assertSameOutputs(noBias, options, input: [1, 4, 8, 8], "\(f), no bias")
    }
  }

  // x[1,4,10] ─▶ Conv "conv0" (w[8,4,3], b, strides 2, pads 1) ─▶ y: a 1-D conv.
  func testOneDimensionalConvFormatsMatchTheOriginal() throws {
    var b = TestGraphBuilder()
    var rng = SeededNormal(seed: 36)
    b.input("x", shape: [1, 4, 10])
    b.initializer("w", rng.tensor([8, 4, 3]))
    b.initializer("b", rng.tensor([8]))
    b.node(
      "Conv", name: "conv0", inputs: ["x", "w", "b"], outputs: ["y"],
      attributes: [Attribute("kernel_shape", .ints([3])), Attribute("strides", .ints([2])), Attribute("pads", .ints([1, 1]))])
    b.output("y", shape: [1, 8, 5])
    let model = try b.model()
    for (f, options) in [
      ("svd", fullRankOptions(.svd)), ("tucker2", fullRankOptions(.tucker2)), ("kron random", fullRankOptions(.kron, shuffle: .random)),
      ("reconstructed tucker2 random", fullRankOptions(.tucker2, layout: .reconstructed, shuffle: .random)),
    ] {
      try assertSameOutputs(model, options, input: [1, 4, 10], "1-D \(f)")
    }
  }

  // x[1,4,8,8] ─▶ Conv "conv0" group 2 (w[8,2,3,3], b, pads 1) ─▶ y
  func testGroupedFormatsMatchTheOriginalConv() throws {
    let model = try TestModel.conv(weightShape: [8, 2, 3, 3], group: 2, attributes: [Attribute("pads", .ints([1, 1, 1, 1]))], seed: 32)
    for (f, options) in [
      ("svd", fullRankOptions(.svd)), ("tucker2", fullRankOptions(.tucker2)),
      ("reconstructed tucker2 random", fullRankOptions(.tucker2, layout: .reconstructed, shuffle: .random)),
    ] {
      try assertSameOutputs(model, options, input: [1, 4, 8, 8], "grouped \(f)")
    }
  }

  // x[3,6] ─▶ Gemm "fc" (w, b; transB, alpha, beta) ─▶ y     and     x[3,6] ─▶ MatMul "mm" (w) ─▶ y
  func testLinearLayersMatchTheOriginal() throws {
    var options = fullRankOptions(.svd)
    options.includeLinear = true
    for transB in [0, 1] {
      var b = TestGraphBuilder()
      var rng = SeededNormal(seed: 33)
      b.input("x", shape: [3, 6])
      b.initializer("w", rng.tensor(transB == 1 ? [5, 6] : [6, 5]))
      b.initializer("b", rng.tensor([5]))
      b.node(
        "Gemm", name: "fc", inputs: ["x", "w", "b"], outputs: ["y"],
        attributes: [Attribute("transB", .int(transB)), Attribute("alpha", .float(0.5)), Attribute("beta", .float(2))])
      b.output("y", shape: [3, 5])
      try assertSameOutputs(try b.model(), options, input: [3, 6], "Gemm transB=\(transB)")
    }
    // transA = 1: x is stored [K, rows].
    do {
      var b = TestGraphBuilder()
      var rng = SeededNormal(seed: 37)
      b.input("x", shape: [6, 3])
      b.initializer("w", rng.tensor([5, 6]))
      b.node("Gemm", name: "fc", inputs: ["x", "w"], outputs: ["y"], attributes: [Attribute("transA", .int(1)), Attribute("transB", .int(1))])
      b.output("y", shape: [3, 5])
      try assertSameOutputs(try b.model(), options, input: [6, 3], "Gemm transA=1")
    }
    var b = TestGraphBuilder()
    var rng = SeededNormal(seed: 34)
    b.input("x", shape: [3, 6])
    b.initializer("w", rng.tensor([6, 5]))
    b.node("MatMul", name: "mm", inputs: ["x", "w"], outputs: ["y"])
    b.output("y", shape: [3, 5])
    try assertSameOutputs(try b.model(), options, input: [3, 6], "MatMul")
  }

  // The evaluator itself, on hand-computed values.
  // x = [[1,2,3],[4,5,6],[7,8,9]] ─▶ Conv (w = [[1,0],[0,-1]], b = 10, pads 1, strides 2) ─▶ y
  // Windows (top-left at -1,-1 / -1,1 / 1,-1 / 1,1): 0−1, 0−3, 0−7, 5−9, plus 10.
  func testReferenceEvaluatorOnHandValues() throws {
    var b = TestGraphBuilder()
    b.input("x", shape: [1, 1, 3, 3])
    b.initializer("w", Tensor(shape: [1, 1, 2, 2], scalars: [1, 0, 0, -1]))
    b.initializer("b", Tensor(shape: [1], scalars: [10]))
    b.int64Initializer("i", [1, 0], shape: [2])
    b.int64Initializer("r", [1, 1, 1, 2], shape: [4])
    b.node("Conv", name: "c", inputs: ["x", "w", "b"], outputs: ["y"], attributes: [Attribute("pads", .ints([1, 1, 1, 1])), Attribute("strides", .ints([2, 2]))])
    b.node("Gather", name: "g", inputs: ["y", "i"], outputs: ["z"], attributes: [Attribute("axis", .int(3))])
    b.node("Tile", name: "t", inputs: ["z", "r"], outputs: ["u"])
    b.output("y", shape: [1, 1, 2, 2])
    b.output("z", shape: [1, 1, 2, 2])
    b.output("u", shape: [1, 1, 2, 4])
    let out = try ReferenceEvaluator(try b.model()).run(["x": Tensor(shape: [1, 1, 3, 3], scalars: (1...9).map(Float.init))])
    XCTAssertEqual(out["y"]?.scalars, [9, 7, 3, 6])
    XCTAssertEqual(out["z"]?.scalars, [7, 9, 6, 3])
    XCTAssertEqual(out["u"]?.scalars, [7, 9, 7, 9, 6, 3, 6, 3])
  }

  // SAME padding in the evaluator: x = [1,2,3,4] (height 1), w = [1,1] along the width.
  // SAME_UPPER pads one zero at the end: [3,5,7,4]; SAME_LOWER at the start: [1,3,5,7].
  func testReferenceEvaluatorSamePadding() throws {
    for (mode, expected) in [("SAME_UPPER", [Float]([3, 5, 7, 4])), ("SAME_LOWER", [1, 3, 5, 7])] {
      var b = TestGraphBuilder()
      b.input("x", shape: [1, 1, 1, 4])
      b.initializer("w", Tensor(shape: [1, 1, 1, 2], scalars: [1, 1]))
      b.node("Conv", name: "c", inputs: ["x", "w"], outputs: ["y"], attributes: [Attribute("auto_pad", .string(mode))])
      b.output("y", shape: [1, 1, 1, 4])
      let out = try ReferenceEvaluator(try b.model()).run(["x": Tensor(shape: [1, 1, 1, 4], scalars: [1, 2, 3, 4])])
      XCTAssertEqual(out["y"]?.scalars, expected, mode)
    }
  }

  // A grouped conv in the evaluator: group 2 with 1×1 weights 2 and 3 scales each channel.
  func testReferenceEvaluatorGroupedConv() throws {
    var b = TestGraphBuilder()
    b.input("x", shape: [1, 2, 1, 2])
    b.initializer("w", Tensor(shape: [2, 1, 1, 1], scalars: [2, 3]))
    b.node("Conv", name: "c", inputs: ["x", "w"], outputs: ["y"], attributes: [Attribute("group", .int(2))])
    b.output("y", shape: [1, 2, 1, 2])
    let out = try ReferenceEvaluator(try b.model()).run(["x": Tensor(shape: [1, 2, 1, 2], scalars: [1, 2, 3, 4])])
    XCTAssertEqual(out["y"]?.scalars, [2, 4, 9, 12])
  }
}
