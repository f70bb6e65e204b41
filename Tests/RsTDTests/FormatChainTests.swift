import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// Each format at full rank with `force`: the emitted chain has exactly the nodes its format
/// file's header describes, and the graph keeps its outputs, loses the old weight, gets names
/// derived from the site and stays topologically sorted.
///
/// The model is two convs so that both chains and their names must coexist:
/// ```
/// x[1,4,8,8] ─▶ Conv "conv0" (w[8,4,3,3], b, pads 1) ─▶ c0 ─▶ Relu ─▶ t1 ─▶ Conv "conv1" (w[8,8,3,3], b) ─▶ y
/// ```
final class FormatChainTests: XCTestCase {
  private func twoConvs() throws -> Model {
    let pads = [Attribute("pads", .ints([1, 1, 1, 1]))]
    return try TestModel.chain(
      [.init("conv0", outputChannels: 8, attributes: pads), .init("conv1", outputChannels: 8)], inputChannels: 4)
  }

  /// Rewrites `twoConvs()` with `options` and checks everything common to all formats; returns
  /// the rewritten model and the nodes emitted for conv0 (those named "conv0/…").
  private func checkRewrite(_ options: RewriteOptions, file: StaticString = #filePath, line: UInt = #line) throws -> (Model, [Node]) {
    let model = try twoConvs()
    let before = try ModelContents(model)
    let (out, rows) = try rewritten(model, options)
    let after = try ModelContents(out)

    XCTAssertEqual(rows.map(\.status), [.rewritten, .rewritten], "\(rows.map { $0.reason ?? "" })", file: file, line: line)
    for r in rows {
      XCTAssertLessThan(r.relativeError ?? 1, 1e-5, "\(r.node): full rank is lossless up to Float32 rounding", file: file, line: line)
    }
    XCTAssertEqual(after.outputs, before.outputs, "graph outputs unchanged", file: file, line: line)
    XCTAssertEqual(after.inputs, before.inputs, "graph inputs unchanged", file: file, line: line)
    XCTAssertFalse(after.initializers.contains("conv0.w"), "old weight removed: \(after.initializers)", file: file, line: line)
    XCTAssertFalse(after.initializers.contains("conv1.w"), "old weight removed: \(after.initializers)", file: file, line: line)
    XCTAssertNil(try out.graph.constant("conv0.w"), file: file, line: line)
    // Every new initializer and node is named after its site.
    for name in Set(after.initializers).subtracting(before.initializers) {
      XCTAssert(name.hasPrefix("conv0/") || name.hasPrefix("conv1/"), "new initializer '\(name)'", file: file, line: line)
    }
    for n in out.graph.nodes where n.opType != "Relu" {
      XCTAssert(n.name.hasPrefix("conv0/") || n.name.hasPrefix("conv1/"), "new node '\(n.name)'", file: file, line: line)
    }
    // The chain writes the original output; Relu is untouched.
    XCTAssertEqual(out.graph.nodes.filter { $0.opType == "Relu" }.map(\.inputs), [["c0"]], file: file, line: line)
    XCTAssertEqual(out.graph.producer(of: "y").map { out.graph.node($0).name.hasPrefix("conv1/") }, true, file: file, line: line)
    try assertWellFormed(out, file: file, line: line)
    return (out, out.graph.nodes.filter { $0.name.hasPrefix("conv0/") })
  }

  private func kinds(_ nodes: [Node]) -> [String: Int] {
    nodes.reduce(into: [:]) { $0[$1.opType, default: 0] += 1 }
  }

  // svd: Conv(3×3, C→r, original pads) → Conv(1×1, r→M, +bias).
  func testSVDEmitsTwoConvs() throws {
    let (out, nodes) = try checkRewrite(fullRankOptions(.svd))
    XCTAssertEqual(nodes.map(\.opType), ["Conv", "Conv"])
    XCTAssertEqual(nodes[0].inputs, ["x", "conv0/svd_right"])
    XCTAssertEqual(nodes[0].ints("pads"), [1, 1, 1, 1])
    XCTAssertEqual(nodes[0].ints("kernel_shape"), [3, 3])
    XCTAssertEqual(nodes[1].inputs, [nodes[0].outputs[0], "conv0/svd_left", "conv0.b"])
    XCTAssertEqual(nodes[1].ints("kernel_shape"), [1, 1])
    XCTAssertNil(nodes[1].ints("pads"))
    XCTAssertEqual(nodes[1].outputs, ["c0"])
    // Full rank min(M, C·k·k) = 8.
    XCTAssertEqual(try out.graph.constant("conv0/svd_right")?.shape, [8, 4, 3, 3])
    XCTAssertEqual(try out.graph.constant("conv0/svd_left")?.shape, [8, 8, 1, 1])
    XCTAssertEqual(opCounts(out.graph), ["Conv": 4, "Relu": 1])
  }

  // tucker2: Conv(1×1, C→r_i) → Conv(3×3, r_i→r_o, original pads) → Conv(1×1, r_o→M, +bias).
  func testTucker2EmitsThreeConvs() throws {
    let (out, nodes) = try checkRewrite(fullRankOptions(.tucker2))
    XCTAssertEqual(nodes.map(\.opType), ["Conv", "Conv", "Conv"])
    XCTAssertEqual(nodes.map { $0.ints("kernel_shape") ?? [] }, [[1, 1], [3, 3], [1, 1]])
    XCTAssertEqual(nodes[1].ints("pads"), [1, 1, 1, 1])
    XCTAssertEqual(nodes[2].inputs.last, "conv0.b")
    // Full ranks (min(M, C·k²), min(C, M·k²)) = (8, 4).
    XCTAssertEqual(try out.graph.constant("conv0/tucker2_in")?.shape, [4, 4, 1, 1])
    XCTAssertEqual(try out.graph.constant("conv0/tucker2_core")?.shape, [8, 4, 3, 3])
    XCTAssertEqual(try out.graph.constant("conv0/tucker2_out")?.shape, [8, 8, 1, 1])
    XCTAssertEqual(opCounts(out.graph), ["Conv": 6, "Relu": 1])
  }

  // cp: Conv(1×1, C→R) → Conv(3×1, group R) → Conv(1×3, group R) → Conv(1×1, R→M, +bias).
  func testCPEmitsFourConvs() throws {
    let (_, nodes) = try checkRewrite(fullRankOptions(.cp))
    XCTAssertEqual(nodes.map(\.opType), ["Conv", "Conv", "Conv", "Conv"])
    XCTAssertEqual(nodes.map { $0.ints("kernel_shape") ?? [] }, [[1, 1], [3, 1], [1, 3], [1, 1]])
    // R = min(M, C)·k1·k2 = 36; the separable convs are grouped by R and split the pads per axis.
    XCTAssertEqual(nodes[1].int("group", default: 1), 36)
    XCTAssertEqual(nodes[2].int("group", default: 1), 36)
    XCTAssertEqual(nodes[1].ints("pads"), [1, 0, 1, 0])
    XCTAssertEqual(nodes[2].ints("pads"), [0, 1, 0, 1])
    XCTAssertEqual(nodes[3].inputs.last, "conv0.b")
  }

  // kron (shuffle none, so no input Gather): Tile(B) → Conv(group A1) → Gather ρ →
  // Tile(A') → Conv(1×1, group C2, Gather(bias)) → Gather τ.
  func testKronEmitsTilesConvsAndGathers() throws {
    let (_, nodes) = try checkRewrite(fullRankOptions(.kron))
    XCTAssertEqual(kinds(nodes), ["Tile": 2, "Conv": 2, "Gather": 3])
    XCTAssertEqual(nodes.last?.opType, "Gather")
    XCTAssertEqual(nodes.last?.outputs, ["c0"])
    let convs = nodes.filter { $0.opType == "Conv" }
    // M = 8 = 2·4 (C1, C2), C = 4 = 2·2 (A1, A2).
    XCTAssertEqual(convs.map { $0.int("group", default: 1) }, [2, 4])
    XCTAssertEqual(convs[0].ints("pads"), [1, 1, 1, 1])
    XCTAssertEqual(nodes.first { $0.opType == "Conv" }?.inputs.first, "x", "identity input shuffle: no Gather on x")
  }

  // kron with a random shuffle adds the input Gather.
  func testKronWithRandomShuffleGathersTheInput() throws {
    let (_, nodes) = try checkRewrite(fullRankOptions(.kron, shuffle: .random))
    XCTAssertEqual(kinds(nodes), ["Tile": 2, "Conv": 2, "Gather": 4])
    XCTAssertEqual(nodes.first?.opType, "Gather")
    XCTAssertEqual(nodes.first?.inputs.first, "x")
  }

  // Reconstructed svd with a random entry shuffle:
  //   MatMul(L, R) → Reshape([N]) → Gather(·, g) → Reshape(W's shape) → Conv(x, Ŵ, b)
  //   g = Range(0, N, 1) → 3 × (Mul, Add, Mod) and 3 × (Reshape, Transpose, Reshape).
  func testReconstructedSVDRebuildsTheKernelInGraph() throws {
    let (_, nodes) = try checkRewrite(fullRankOptions(.svd, layout: .reconstructed, shuffle: .random))
    // EntryShuffle's default 3 rounds on a [8,4,3,3] kernel: an affine and a transpose step each.
    let shuffle = EntryShuffle(shape: [8, 4, 3, 3], seed: siteSeed(1810, "conv0.w"))
    XCTAssertEqual(shuffle.steps.count, 6)
    XCTAssertEqual(
      kinds(nodes),
      ["MatMul": 1, "Range": 1, "Mul": 3, "Add": 3, "Mod": 3, "Reshape": 8, "Transpose": 3, "Gather": 1, "Conv": 1])
    XCTAssertEqual(nodes.first?.opType, "MatMul")
    XCTAssertEqual(nodes.last?.opType, "Conv")
    XCTAssertEqual(nodes.last?.inputs.first, "x")
    XCTAssertEqual(nodes.last?.inputs.last, "conv0.b")
    XCTAssertEqual(nodes.last?.ints("pads"), [1, 1, 1, 1], "the original Conv's attributes")
  }

  // Reconstructed tucker2 without shuffle: MatMul → Reshape → Transpose → MatMul → Transpose →
  // Reshape(W's shape) → Conv.
  func testReconstructedTucker2RebuildsTheKernelInGraph() throws {
    let (_, nodes) = try checkRewrite(fullRankOptions(.tucker2, layout: .reconstructed))
    XCTAssertEqual(nodes.map(\.opType), ["MatMul", "Reshape", "Transpose", "MatMul", "Transpose", "Reshape", "Conv"])
  }

  // Reconstructed tucker2 with a random shuffle also computes its gather indices in-graph.
  func testReconstructedTucker2WithShuffle() throws {
    let (out, nodes) = try checkRewrite(fullRankOptions(.tucker2, layout: .reconstructed, shuffle: .random))
    XCTAssertEqual(
      kinds(nodes),
      ["MatMul": 2, "Range": 1, "Mul": 3, "Add": 3, "Mod": 3, "Reshape": 9, "Transpose": 5, "Gather": 1, "Conv": 1])
    // No index tensor proportional to the kernel is stored: every INT64 initializer is tiny. And
    // small INT64 constants are one initializer per value for both sites (the two convs' shuffles
    // read the same 0 and 1, and their rebuilds the same shapes where the shapes agree).
    let contents = try ModelContents(out)
    var seen: [String: String] = [:]
    for name in contents.initializers {
      let c = try XCTUnwrap(try out.graph.constant(name))
      guard c.elementTypeName == "INT64" else { continue }
      XCTAssertLessThanOrEqual(c.shape.reduce(1, *), 4, "'\(name)' has shape \(c.shape)")
      let key = "\(c.shape)|\(try c.int64s())"
      XCTAssertNil(seen[key], "'\(name)' repeats '\(seen[key] ?? "")'")
      seen[key] = name
    }
    XCTAssertGreaterThanOrEqual(seen.count, 5, "the shuffles' and rebuilds' constants were checked")
    let readers = out.graph.nodes.filter { $0.inputs.contains(seen["[]|[1]"] ?? "?") }.map(\.name)
    XCTAssertTrue(readers.contains { $0.hasPrefix("conv0/") } && readers.contains { $0.hasPrefix("conv1/") }, "\(readers)")
  }

  // Names are unique even when the graph already uses the derived ones.
  // x ─▶ Relu "conv0/svd_conv1" ─▶ "conv0/svd_right" ─▶ Conv "conv0" ─▶ y
  func testNewNamesAvoidExistingNames() throws {
    var b = TestGraphBuilder()
    var rng = SeededNormal(seed: 9)
    b.input("x", shape: [1, 4, 8, 8])
    b.initializer("w", rng.tensor([8, 4, 3, 3]))
    b.node("Relu", name: "conv0/svd_conv1", inputs: ["x"], outputs: ["conv0/svd_right"])
    b.node("Conv", name: "conv0", inputs: ["conv0/svd_right", "w"], outputs: ["y"], attributes: [Attribute("kernel_shape", .ints([3, 3]))])
    b.output("y", shape: [1, 8, 6, 6])
    let (out, rows) = try rewritten(try b.model(), fullRankOptions(.svd))
    XCTAssertEqual(rows.map(\.status), [.rewritten])
    XCTAssertEqual(out.graph.nodes.map(\.name), ["conv0/svd_conv1", "conv0/svd_conv1_1", "conv0/svd_conv2"])
    XCTAssertEqual(out.graph.nodes[1].inputs, ["conv0/svd_right", "conv0/svd_right_1"])
    try assertWellFormed(out)
  }

  // Two convs sharing one weight get one set of factors.
  // x ─▶ Conv "a" (w) ─▶ Relu ─▶ Conv "b" (w) ─▶ y
  func testSharedWeightIsFactoredOnce() throws {
    var b = TestGraphBuilder()
    var rng = SeededNormal(seed: 10)
    b.input("x", shape: [1, 8, 8, 8])
    b.initializer("w", rng.tensor([8, 8, 3, 3]))
    let k = [Attribute("kernel_shape", .ints([3, 3])), Attribute("pads", .ints([1, 1, 1, 1]))]
    b.node("Conv", name: "a", inputs: ["x", "w"], outputs: ["c"], attributes: k)
    b.node("Relu", name: "r", inputs: ["c"], outputs: ["t"])
    b.node("Conv", name: "b", inputs: ["t", "w"], outputs: ["y"], attributes: k)
    b.output("y", shape: [1, 8, 8, 8])
    let (out, rows) = try rewritten(try b.model(), fullRankOptions(.svd))
    XCTAssertEqual(rows.map(\.status), [.rewritten, .rewritten])
    XCTAssertEqual(try ModelContents(out).initializers, ["a/svd_right", "a/svd_left"])
    XCTAssertEqual(out.graph.nodes.filter { $0.opType == "Conv" }.map { $0.inputs[1] }, ["a/svd_right", "a/svd_left", "a/svd_right", "a/svd_left"])
    try assertWellFormed(out)
  }
}
