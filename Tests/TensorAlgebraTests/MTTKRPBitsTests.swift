import XCTest
@testable import TensorAlgebra

/// `MTTKRPPlan.run` sums its rank-wise reductions four outputs at a time in SIMD lanes; every
/// output must keep the bits of the scalar loop it replaced (each output summed from 0, a
/// product then a sum per term, in the order of the contracted index), or CP factors and
/// rewritten models change.
final class MTTKRPBitsTests: XCTestCase {
  /// The plan's arithmetic as the scalar loop did it: the same GEMM, then one output at a time.
  private func scalarMTTKRP(_ x: Tensor, axes: [Int], factors: [Tensor], mode n: Int) -> [Float] {
    let plan = MTTKRPPlan(shape: x.shape, axes: axes, mode: n)
    let r = factors[0].shape[1]
    var src = [Float](repeating: 0, count: r * plan.rest)
    x.scalars.withUnsafeBufferPointer { px in
      factors[plan.gemmFactor].scalars.withUnsafeBufferPointer { pa in
        src.withUnsafeMutableBufferPointer { ps in
          sgemm(
            transposeA: true, transposeB: false, m: r, n: plan.rest, k: plan.leading,
            a: pa.baseAddress!, lda: r, b: px.baseAddress!, ldb: plan.rest, c: ps.baseAddress!, ldc: plan.rest)
        }
      }
    }
    for step in plan.reductions {
      let a = factors[step.factor].scalars
      let (pre, d, post) = (step.pre, step.d, step.post)
      var dst = [Float](repeating: 0, count: r * pre * post)
      for rr in 0..<r {
        for b in 0..<pre {
          for c in 0..<post {
            var sum: Float = 0
            for i in 0..<d { sum += a[i * r + rr] * src[((rr * pre + b) * d + i) * post + c] }
            dst[(rr * pre + b) * post + c] = sum
          }
        }
      }
      src = dst
    }
    var out = [Float](repeating: 0, count: plan.size * r)
    for i in 0..<plan.size { for rr in 0..<r { out[i * r + rr] = src[rr * plan.size + i] } }
    return out
  }

  func testReductionsKeepTheBitsOfTheScalarLoop() {
    // Mode sizes that leave every remainder of the four-lane loops (post 1…9, pre 1…7) and ranks
    // 1…5; the conv kernel of the scaling chain among them.
    let shapes: [[Int]] = [[16, 16, 3, 3], [5, 7, 2], [3, 4, 2, 5], [7, 6, 1, 9], [2, 9, 5, 3, 2], [6, 11, 4, 4], [1, 3, 2]]
    var g = NormalGenerator(seed: 77)
    var checked = 0
    for (k, shape) in shapes.enumerated() {
      let r = 1 + k % 5
      let x = g.tensor(shape)
      let factors = shape.map { g.tensor([$0, r]) }
      for n in shape.indices {
        let fast = mttkrp(x, factors: factors, mode: n)
        let reference: [Float]
        if n == 0 {
          let axes = [1, 0] + Array(2..<shape.count)
          reference = scalarMTTKRP(x.transposed(axes), axes: axes, factors: factors, mode: 0)
        } else {
          reference = scalarMTTKRP(x, axes: Array(shape.indices), factors: factors, mode: n)
        }
        XCTAssertEqual(fast.map(\.bitPattern), reference.map(\.bitPattern), "shape \(shape), rank \(r), mode \(n)")
        checked += 1
      }
    }
    XCTAssertEqual(checked, 27)
  }
}
