import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import Executor

/// The ops split into pieces for two threads (MaxPool, AveragePool, GlobalAveragePool, Resize,
/// Concat, ConvTranspose channel blocks, Conv's channel-split unfolding, Gemm column blocks),
/// at shapes large enough to take the parallel paths: the same bits for 1 and 2 threads and
/// from run to run, and the split arithmetic checked against references.
final class ParallelSplitTests: XCTestCase {
  /// Float32 sums of a few hundred products against a Double reference.
  let tolerance = 1e-5

  /// x [1, 32, 64, 64] through every split op; z [1, 32, 28, 28] through a 3×3 Conv to 64
  /// channels (one column piece, two channel blocks: the unfolding is split by channels).
  private func model() throws -> (Model, [String: TensorValue], [String: Tensor]) {
    var b = TestGraphBuilder(opset: 13)
    var rng = SeededNormal(seed: 21)
    b.input("x", shape: [1, 32, 64, 64])
    b.input("z", shape: [1, 32, 28, 28])
    b.node("MaxPool", name: "max", inputs: ["x"], outputs: ["max"],
           attributes: [Attribute("kernel_shape", .ints([3, 3])), Attribute("pads", .ints([1, 1, 1, 1]))])
    b.node("AveragePool", name: "avg", inputs: ["x"], outputs: ["avg"],
           attributes: [Attribute("kernel_shape", .ints([2, 2])), Attribute("strides", .ints([1, 1]))])
    b.node("GlobalAveragePool", name: "gap", inputs: ["x"], outputs: ["gap"])
    b.initializer("scales", Tensor(shape: [4], scalars: [1, 1, 2, 2]))
    b.node("Resize", name: "up", inputs: ["x", "", "scales"], outputs: ["up"], attributes: [Attribute("mode", .string("linear"))])
    b.node("Concat", name: "cat", inputs: ["x", "max"], outputs: ["cat"], attributes: [Attribute("axis", .int(1))])
    let wt = rng.tensor([32, 16, 2, 2]), bt = rng.tensor([16])
    b.initializer("wt", wt)
    b.initializer("bt", bt)
    b.node("ConvTranspose", name: "deconv", inputs: ["x", "wt", "bt"], outputs: ["deconv"],
           attributes: [Attribute("strides", .ints([2, 2]))])
    b.int64Initializer("flat", [1, 32], shape: [2])
    b.node("Reshape", name: "flatten", inputs: ["gap", "flat"], outputs: ["g2"])
    let wg = rng.tensor([32, 300]), bg = rng.tensor([300])
    b.initializer("wg", wg)
    b.initializer("bg", bg)
    b.node("Gemm", name: "fc", inputs: ["g2", "wg", "bg"], outputs: ["fc"])
    let wc = rng.tensor([64, 32, 3, 3])
    b.initializer("wc", wc)
    b.node("Conv", name: "conv", inputs: ["z", "wc"], outputs: ["conv"], attributes: [Attribute("pads", .ints([1, 1, 1, 1]))])
    for (name, shape) in [("max", [1, 32, 64, 64]), ("avg", [1, 32, 63, 63]), ("gap", [1, 32, 1, 1]), ("up", [1, 32, 128, 128]),
                          ("cat", [1, 64, 64, 64]), ("deconv", [1, 16, 128, 128]), ("fc", [1, 300]), ("conv", [1, 64, 28, 28])] {
      b.output(name, shape: shape)
    }
    let x = rng.tensor([1, 32, 64, 64]), z = rng.tensor([1, 32, 28, 28])
    let inputs = ["x": TensorValue(shape: x.shape, floats: x.scalars), "z": TensorValue(shape: z.shape, floats: z.scalars)]
    return (try b.model(), inputs, ["x": x, "z": z, "wc": wc, "wg": wg, "bg": bg, "wt": wt, "bt": bt])
  }

  func testSplitOpsGiveTheSameBitsForOneAndTwoThreads() throws {
    let (m, inputs, _) = try model()
    let one = try Executor(model: m, options: ExecutorOptions(threads: 1)).run(inputs)
    let twoRunner = try Executor(model: m, options: ExecutorOptions(threads: 2))
    let two = try twoRunner.run(inputs), again = try twoRunner.run(inputs)
    XCTAssertEqual(Set(one.keys), ["max", "avg", "gap", "up", "cat", "deconv", "fc", "conv"])
    for (name, v) in one {
      let a = try XCTUnwrap(v.floats), b = try XCTUnwrap(two[name]?.floats), c = try XCTUnwrap(again[name]?.floats)
      XCTAssertEqual(v.shape, two[name]?.shape, name)
      XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "\(name): thread count changed the bits")
      XCTAssertEqual(b.map(\.bitPattern), c.map(\.bitPattern), "\(name): two runs differ")
    }
  }

  func testSplitOpsComputeTheRightValues() throws {
    let (m, inputs, t) = try model()
    let y = try Executor(model: m, options: ExecutorOptions(threads: 2)).run(inputs)
    let x = t["x"]!.scalars, plane = 64 * 64
    // GlobalAveragePool: the mean of each plane.
    let gap = try XCTUnwrap(y["gap"]?.floats)
    for c in [0, 17, 31] {
      let mean = x[(c * plane)..<((c + 1) * plane)].reduce(0.0) { $0 + Double($1) } / Double(plane)
      XCTAssertEqual(Double(gap[c]), mean, accuracy: 1e-5, "channel \(c)")
    }
    // MaxPool 3×3, pad 1: an interior and a corner position of the last channel.
    let maxPool = try XCTUnwrap(y["max"]?.floats)
    func at(_ c: Int, _ r: Int, _ col: Int) -> Float { x[c * plane + r * 64 + col] }
    let interior = (9...11).flatMap { r in (19...21).map { at(31, r, $0) } }.max()!
    XCTAssertEqual(maxPool[31 * plane + 10 * 64 + 20], interior)
    XCTAssertEqual(maxPool[31 * plane], [at(31, 0, 0), at(31, 0, 1), at(31, 1, 0), at(31, 1, 1)].max()!)
    // Concat: x, then the pooled values, channel after channel.
    let cat = try XCTUnwrap(y["cat"]?.floats)
    XCTAssertEqual(Array(cat[0..<(32 * plane)]), x)
    XCTAssertEqual(Array(cat[(32 * plane)...]), maxPool)
    // Resize ×2, linear (half_pixel): output (1, 1) of a plane is (3·x₀₀ + x₀₁ + x₁₀ … )/16-weighted;
    // check the exactly representable case of an interior pair: out[2i+1] row average.
    let up = try XCTUnwrap(y["up"]?.floats)
    let expectedUp = 0.5625 * at(5, 10, 10) + 0.1875 * at(5, 10, 11) + 0.1875 * at(5, 11, 10) + 0.0625 * at(5, 11, 11)
    XCTAssertEqual(up[5 * 128 * 128 + 21 * 128 + 21], expectedUp, accuracy: 1e-5)
    // ConvTranspose, kernel 2 stride 2 (no overlap): out[co, 2i+a, 2j+b] = Σ x[ci, i, j]·W[ci, co, a, b] + B[co].
    let deconv = try XCTUnwrap(y["deconv"]?.floats), wt = t["wt"]!.scalars, bt = t["bt"]!.scalars
    for (co, i, j, a, bb) in [(0, 0, 0, 0, 0), (15, 63, 63, 1, 1), (7, 20, 41, 1, 0)] {
      let sum = (0..<32).reduce(0.0) { $0 + Double(at($1, i, j)) * Double(wt[(($1 * 16 + co) * 2 + a) * 2 + bb]) } + Double(bt[co])
      XCTAssertEqual(Double(deconv[co * 128 * 128 + (2 * i + a) * 128 + 2 * j + bb]), sum, accuracy: 1e-4, "deconv \(co) \(i) \(j)")
    }
    // Gemm (one row, column blocks) and Conv (channel-split unfolding) against the reference.
    var gemm = TestGraphBuilder(opset: 13)
    gemm.input("x", shape: [1, 32])
    gemm.initializer("w", t["wg"]!)
    gemm.initializer("b", t["bg"]!)
    gemm.node("Gemm", name: "fc", inputs: ["x", "w", "b"], outputs: ["y"])
    gemm.output("y", shape: [1, 300])
    let fc = try XCTUnwrap(ReferenceEvaluator(try gemm.model()).run(["x": Tensor(shape: [1, 32], scalars: gap)])["y"])
    XCTAssertLessThan(relativeError(Tensor(shape: [1, 300], scalars: try XCTUnwrap(y["fc"]?.floats)), fc), tolerance)
    var conv = TestGraphBuilder(opset: 13)
    conv.input("x", shape: [1, 32, 28, 28])
    conv.initializer("w", t["wc"]!)
    conv.node("Conv", name: "conv", inputs: ["x", "w"], outputs: ["y"], attributes: [Attribute("pads", .ints([1, 1, 1, 1]))])
    conv.output("y", shape: [1, 64, 28, 28])
    let expected = try XCTUnwrap(ReferenceEvaluator(try conv.model()).run(["x": t["z"]!])["y"])
    XCTAssertLessThan(relativeError(Tensor(shape: [1, 64, 28, 28], scalars: try XCTUnwrap(y["conv"]?.floats)), expected), tolerance)
  }
}
