import Executor
import ONNX
import TensorAlgebra
import XCTest

@testable import RsTD

/// Sequential correction's pairs for a last factor that reads patches (spatial's `Conv(1×k2)`):
/// paired with the right outputs, the least squares recover the conv exactly.
final class CorrectionRefitTests: XCTestCase {
  /// z `[2, 3, 5, 7]` through `Conv(1×3, 3→4, strides [1, 2], pads [0, 1, 0, 1])` + bias.
  private func fixture() -> (z: TensorValue, y: TensorValue, weight: [Float], bias: [Float], node: Node) {
    var g = SplitMix64(seed: 9)
    let (n, r, h, w, m, k) = (2, 3, 5, 7, 4, 3)
    let z = (0..<(n * r * h * w)).map { _ in g.nextStandardNormal() }
    let weight = (0..<(m * r * k)).map { _ in g.nextStandardNormal() }  // [M, r, 1, k]
    let bias: [Float] = [0.5, -1, 2, 0]
    let ow = (w + 2 - k) / 2 + 1
    var y = [Float](repeating: 0, count: n * m * h * ow)
    for b in 0..<n {
      for o in 0..<m {
        for i in 0..<h {
          for jo in 0..<ow {
            var s = bias[o]
            for c in 0..<r {
              for j in 0..<k {
                let col = jo * 2 - 1 + j
                if col >= 0 && col < w { s += weight[(o * r + c) * k + j] * z[((b * r + c) * h + i) * w + col] }
              }
            }
            y[((b * m + o) * h + i) * ow + jo] = s
          }
        }
      }
    }
    let node = Node(
      name: "last", opType: "Conv", inputs: ["z", "h"], outputs: ["y"],
      attributes: [Attribute("kernel_shape", .ints([1, k])), Attribute("strides", .ints([1, 2])), Attribute("pads", .ints([0, 1, 0, 1]))])
    return (TensorValue(shape: [n, r, h, w], floats: z), TensorValue(shape: [n, m, h, ow], floats: y), weight, bias, node)
  }

  func testPatchPairsRecoverA1xkConvAndItsBias() throws {
    let f = fixture()
    let spec = try XCTUnwrap(PatchSpec(node: f.node, channels: 3, kernel: [1, 3]))
    XCTAssertEqual(spec.dimension, 9)
    for step in [1, 2] {
      var m: LeastSquaresMoments?
      Rewriter.accumulate(&m, z: f.z, y: f.y, spec: spec, step: step)
      let moments = try XCTUnwrap(m)
      XCTAssertEqual(moments.count, step == 1 ? 2 * 5 * 4 : 2 * 10)  // every other position of 20
      let x = try XCTUnwrap(moments.solve(prior: Array(repeating: 0, count: 10 * 4), ridge: 0))
      XCTAssertLessThan(moments.relativeError(of: x), 1e-5)
      for o in 0..<4 {
        for q in 0..<9 { XCTAssertEqual(x[q * 4 + o], Double(f.weight[o * 9 + q]), accuracy: 1e-3, "step \(step) o \(o) q \(q)") }
        XCTAssertEqual(x[9 * 4 + o], Double(f.bias[o]), accuracy: 1e-3)
      }
    }
  }

  /// A pairing that does not match y's positions adds nothing (a stride other than the conv's).
  func testMismatchedPositionsAddNothing() throws {
    let f = fixture()
    var node = f.node
    node.attributes = [Attribute("kernel_shape", .ints([1, 3])), Attribute("pads", .ints([0, 1, 0, 1]))]
    let spec = try XCTUnwrap(PatchSpec(node: node, channels: 3, kernel: [1, 3]))
    var m: LeastSquaresMoments?
    Rewriter.accumulate(&m, z: f.z, y: f.y, spec: spec)
    XCTAssertNil(m)
  }

  /// The last factor of each format is the matrix its last conv applies, and `replacing` puts a
  /// new one where `LastFactor` read it.
  func testLastFactorsReadAndReplaceTheLastConvsWeight() throws {
    var g = SplitMix64(seed: 2)
    func t(_ shape: [Int]) -> Tensor { Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in g.nextStandardNormal() }) }
    let spatial = SpatialFactors(vertical: t([2, 3, 3]), horizontal: t([4, 2, 3]))
    let cp = CPFactors(factors: [t([4, 5]), t([3, 5]), t([3, 5]), t([3, 5])])
    let tucker = Tucker2Factors(core: t([2, 3, 3, 3]), output: t([4, 2]), input: t([3, 3]))
    let svd = SVDFactors(left: t([4, 2]), right: t([2, 27]))
    let cases: [(Any, Method, [Float], Int, [Int])] = [
      (spatial, .spatial, spatial.horizontal.scalars, 6, [1, 3]), (cp, .cp, cp.factors[0].scalars, 5, [1, 1]),
      ([tucker], .tucker2, tucker.output.scalars, 2, [1, 1]), ([svd], .svd, svd.left.scalars, 2, [1, 1]),
    ]
    for (factors, method, weight, unknowns, kernel) in cases {
      let f = Factorization(format: method, ranks: [unknowns], relativeError: 0, factors: factors)
      var last = try XCTUnwrap(LastFactor(f), "\(method)")
      XCTAssertEqual(last.weight, weight, "\(method)")
      XCTAssertEqual(last.unknowns, unknowns, "\(method)")
      XCTAssertEqual(last.kernel, kernel, "\(method)")
      last.weight = last.weight.map { $0 + 1 }
      var g2 = f
      g2.factors = try XCTUnwrap(last.replacing(in: f))
      XCTAssertEqual(try XCTUnwrap(LastFactor(g2)).weight, weight.map { $0 + 1 }, "\(method)")
      XCTAssertEqual(LastFactor.reconstruct(g2.factors)?.count, 4 * 27, "\(method)")
    }
    XCTAssertNil(LastFactor(Factorization(format: .svd, ranks: [2], relativeError: 0, factors: [SVDFactors]([]))))
  }
}
