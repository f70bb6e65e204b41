import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// Which nodes become sites, and why the others are kept.
final class SiteFinderTests: XCTestCase {
  // x[1,4,8,8] ─▶ Conv "conv0" (w[8,4,3,3], b[8]) ─▶ y
  func testPlainConvIsASite() throws {
    let model = try TestModel.conv(weightShape: [8, 4, 3, 3])
    let site = try onlySite(model)
    XCTAssertEqual(site.kind, .conv)
    XCTAssertEqual(site.name, "conv0")
    XCTAssertEqual(site.weightName, "conv0.w")
    XCTAssertEqual(site.biasName, "conv0.b")
    XCTAssertEqual(site.weightShape, [8, 4, 3, 3])
    XCTAssertEqual(site.group, 1)
    XCTAssertEqual(site.elementType, .float)
    XCTAssertEqual(site.weightSource, .initializer)
    XCTAssertEqual(site.parameterCount, 288)
  }

  // x[1,8,8,8] ─▶ Conv "conv0" group 8 (w[8,1,3,3]) ─▶ y
  func testDepthwiseConvIsKept() throws {
    let model = try TestModel.conv(weightShape: [8, 1, 3, 3], group: 8)
    let d = try decisions(model)
    XCTAssertEqual(d.count, 1)
    XCTAssertEqual(d.first.flatMap(keptReason), .depthwise)
  }

  // A grouped (not depthwise) conv is a site with its group.
  // x[1,8,8,8] ─▶ Conv "conv0" group 2 (w[8,4,3,3]) ─▶ y
  func testGroupedConvIsASiteWithItsGroup() throws {
    let site = try onlySite(try TestModel.conv(weightShape: [8, 4, 3, 3], group: 2))
    XCTAssertEqual(site.group, 2)
    XCTAssertEqual(site.inputChannelsPerGroup, 4)
  }

  // Constant "w_const" ─▶ w ─┐
  //                x[1,4,8,8] ─▶ Conv "conv0" ─▶ y
  func testWeightFromConstantNodeIsRewrittenAndTheConstantNodeRemoved() throws {
    var b = TestGraphBuilder()
    var rng = SeededNormal(seed: 3)
    b.input("x", shape: [1, 4, 8, 8])
    b.constantNode(name: "w_const", output: "w", rng.tensor([8, 4, 3, 3]))
    b.node("Conv", name: "conv0", inputs: ["x", "w"], outputs: ["y"], attributes: [Attribute("kernel_shape", .ints([3, 3]))])
    b.output("y", shape: [1, 8, 6, 6])
    let model = try b.model()

    let site = try onlySite(model)
    XCTAssertEqual(site.weightSource, .constantNode("w_const"))
    XCTAssertNil(site.biasName)

    let (out, rows) = try rewritten(model, fullRankOptions(.svd))
    XCTAssertEqual(rows.map(\.status), [.rewritten])
    XCTAssertEqual(rows.first?.weightSource, "Constant node 'w_const'")
    XCTAssertEqual(opCounts(out.graph), ["Conv": 2], "the Constant node only fed the weight and must go")
    XCTAssertNil(try out.graph.constant("w"))
    try assertWellFormed(out)
  }

  // x[1,4,8,8] ─▶ Conv "conv0" ─▶ y
  // w[8,4,3,3] (graph input) ─┘
  func testWeightFromGraphInputThrowsUnlessExcluded() throws {
    var b = TestGraphBuilder()
    b.input("x", shape: [1, 4, 8, 8])
    b.input("w", shape: [8, 4, 3, 3])
    b.node("Conv", name: "conv0", inputs: ["x", "w"], outputs: ["y"], attributes: [Attribute("kernel_shape", .ints([3, 3]))])
    b.output("y", shape: [1, 8, 6, 6])
    let model = try b.model()

    var m = model
    XCTAssertThrowsError(try Rewriter(options: RewriteOptions()).rewrite(&m)) { error in
      XCTAssertEqual(error as? RewriteError, .weightIsGraphInput(node: "conv0", weight: "w"))
      XCTAssertEqual(
        "\(error)",
        "node 'conv0': weight 'w' is a graph input, not a constant; export the model with its weights, or pass --exclude 'conv0'.")
    }

    var options = RewriteOptions()
    options.exclude = ["conv0"]
    let before = try model.serializedData()
    let (out, rows) = try rewritten(model, options)
    XCTAssertEqual(rows.map(\.status), [.kept])
    XCTAssertEqual(rows.first?.reason, "excluded by --exclude 'conv0'")
    XCTAssertEqual(try out.serializedData(), before)
  }

  // A weight computed at run time (not a graph input) is kept, not an error.
  // w ─▶ Neg ─▶ w2 ─┐
  //           x[1,4,8,8] ─▶ Conv "conv0" ─▶ y        (w2 read as the weight)
  func testWeightComputedAtRunTimeIsKept() throws {
    var b = TestGraphBuilder()
    var rng = SeededNormal(seed: 4)
    b.input("x", shape: [1, 4, 8, 8])
    b.initializer("w", rng.tensor([8, 4, 3, 3]))
    b.node("Neg", name: "neg", inputs: ["w"], outputs: ["w2"])
    b.node("Conv", name: "conv0", inputs: ["x", "w2"], outputs: ["y"], attributes: [Attribute("kernel_shape", .ints([3, 3]))])
    b.output("y", shape: [1, 8, 6, 6])
    let d = try decisions(try b.model())
    XCTAssertEqual(d.first.flatMap(keptReason), .weightNotConstant("w2"))
  }

  // x[1,4,8,8] ─▶ ConvTranspose "deconv" (w[4,8,3,3]) ─▶ y
  func testConvTransposeIsKept() throws {
    var b = TestGraphBuilder()
    var rng = SeededNormal(seed: 5)
    b.input("x", shape: [1, 4, 8, 8])
    b.initializer("w", rng.tensor([4, 8, 3, 3]))
    b.node("ConvTranspose", name: "deconv", inputs: ["x", "w"], outputs: ["y"])
    b.output("y", shape: [1, 8, 10, 10])
    let model = try b.model()
    let d = try decisions(model)
    XCTAssertEqual(d.count, 1)
    XCTAssertEqual(d.first.flatMap(keptReason), .unsupportedOp("ConvTranspose"))
    let (_, rows) = try rewritten(model, fullRankOptions(.svd))
    XCTAssertEqual(rows.first?.reason, "ConvTranspose is not rewritten")
  }

  // x[2,16] ─▶ Gemm "fc" (w[16,8] stored [K,N], transB=0; b[8]) ─▶ y[2,8]
  func testGemmIsKeptUnlessLinearLayersAreIncluded() throws {
    var b = TestGraphBuilder()
    var rng = SeededNormal(seed: 6)
    b.input("x", shape: [2, 16])
    b.initializer("w", rng.tensor([16, 8]))
    b.initializer("b", rng.tensor([8]))
    b.node("Gemm", name: "fc", inputs: ["x", "w", "b"], outputs: ["y"])
    b.output("y", shape: [2, 8])
    let model = try b.model()

    XCTAssertEqual(try decisions(model).first.flatMap(keptReason), .linearNotRequested)
    var options = RewriteOptions()
    options.includeLinear = true
    let site = try onlySite(model, options)
    XCTAssertEqual(site.kind, .gemm)
    XCTAssertEqual(site.weightShape, [8, 16], "Gemm weights are normalised to [N_out, K_in]")
    XCTAssertEqual(site.biasName, "b")

    options.method = .svd
    options.ranks = .full
    options.force = true
    let (out, rows) = try rewritten(model, options)
    XCTAssertEqual(rows.map(\.status), [.rewritten])
    XCTAssertEqual(opCounts(out.graph), ["Gemm": 2])
    XCTAssertEqual(out.graph.nodes.last?.inputs.last, "b", "the bias stays on the last Gemm")
    try assertWellFormed(out)
  }

  // x ─▶ Conv "backbone.conv1" ─▶ Relu ─▶ Conv "backbone.conv2" ─▶ Relu ─▶ Conv "head.conv" ─▶ y
  func testIncludeAndExcludeGlobs() throws {
    let model = try TestModel.chain(
      [.init("backbone.conv1", outputChannels: 8), .init("backbone.conv2", outputChannels: 8), .init("head.conv", outputChannels: 8)],
      inputChannels: 8)
    // (include, exclude) → per site: nil = rewrite, else the reason.
    let table: [([String], [String], [SkipReason?])] = [
      ([], [], [nil, nil, nil]),
      (["backbone.*"], [], [nil, nil, .notSelected]),
      (["backbone.*"], ["*2"], [nil, .excluded("*2"), .notSelected]),
      ([], ["*"], [.excluded("*"), .excluded("*"), .excluded("*")]),
      (["head.con?"], [], [.notSelected, .notSelected, nil]),
      (["*.conv?"], ["head*"], [nil, nil, .excluded("head*")]),
      // Exclusion wins over inclusion; the first matching exclude glob is quoted.
      (["*"], ["backbone.conv1", "*conv*"], [.excluded("backbone.conv1"), .excluded("*conv*"), .excluded("*conv*")]),
    ]
    for (include, exclude, expected) in table {
      var options = RewriteOptions()
      options.include = include
      options.exclude = exclude
      let got = try decisions(model, options).map(keptReason)
      XCTAssertEqual(got, expected, "include \(include) exclude \(exclude)")
    }
  }

  func testGlobMatching() {
    // (pattern, name, matches)
    let table: [(String, String, Bool)] = [
      ("*", "", true), ("*", "conv", true), ("conv", "conv", true), ("conv", "conv1", false),
      ("conv?", "conv1", true), ("conv?", "conv", false), ("conv?", "conv12", false),
      ("*.conv", "layer1.conv", true), ("*.conv", "layer1.conv.bn", false), ("a*b*c", "aXbYc", true),
      ("a*b*c", "aXbY", false), ("*a", "banana", true), ("?*", "", false), ("[1]", "[1]", true),
    ]
    for (pattern, name, expected) in table {
      XCTAssertEqual(Glob(pattern).matches(name), expected, "'\(pattern)' on '\(name)'")
    }
  }

  // An unnamed node goes by its op and first output.
  func testUnnamedNodeIsNamedByOpAndOutput() throws {
    var b = TestGraphBuilder()
    var rng = SeededNormal(seed: 7)
    b.input("x", shape: [1, 4, 8, 8])
    b.initializer("w", rng.tensor([8, 4, 3, 3]))
    b.node("Conv", name: "", inputs: ["x", "w"], outputs: ["y"])
    b.output("y", shape: [1, 8, 6, 6])
    let model = try b.model()
    XCTAssertEqual(try onlySite(model).name, "Conv_y")
    let (out, _) = try rewritten(model, fullRankOptions(.svd))
    XCTAssertEqual(out.graph.nodes.map(\.name), ["Conv_y/svd_conv1", "Conv_y/svd_conv2"])
  }
}
