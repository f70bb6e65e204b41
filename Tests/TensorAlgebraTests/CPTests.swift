import XCTest
@testable import TensorAlgebra

final class CPTests: XCTestCase {
  func testMTTKRPMatchesKhatriRaoDefinition() {
    var g = NormalGenerator(seed: 20)
    let x = g.tensor([3, 4, 2, 5])
    let factors = [3, 4, 2, 5].map { g.tensor([$0, 2]) }
    for n in 0..<4 {
      let m = mttkrp(x, factors: factors, mode: n)
      // Reference: Σ over all other indices of x · Π other factor entries.
      var reference = [Double](repeating: 0, count: x.shape[n] * 2)
      for flat in 0..<x.count {
        var rest = flat
        var idx = [Int](repeating: 0, count: 4)
        for k in stride(from: 3, through: 0, by: -1) { idx[k] = rest % x.shape[k]; rest /= x.shape[k] }
        for r in 0..<2 {
          var p = Double(x.scalars[flat])
          for k in 0..<4 where k != n { p *= Double(factors[k].scalars[idx[k] * 2 + r]) }
          reference[idx[n] * 2 + r] += p
        }
      }
      // Float32 sums of ≤ 40 products: ~1e-6 relative.
      assertRelativeError(
        Tensor(shape: [x.shape[n], 2], scalars: m),
        Tensor(shape: [x.shape[n], 2], scalars: reference.map(Float.init)), below: 1e-5, "mode \(n)")
    }
  }

  func testRecoversExactRank() throws {
    var g = NormalGenerator(seed: 21)
    let w = Tensor.randomCP(shape: [8, 6, 3, 3], rank: 3, using: &g)
    let fit = try cp(w, rank: 3, options: .init(tolerance: 1e-9, maxSweeps: 500))
    // The bar: a rank-R tensor reaches < 1e-4 (Float32 ALS stalls near 1e-6).
    assertRelativeError(fit.factors.reconstruct(), w, below: 1e-4)
    XCTAssertLessThan(fit.relativeError, 1e-4)
    XCTAssertTrue(fit.converged)
    XCTAssertEqual(fit.factors.rank, 3)
    XCTAssertEqual(fit.factors.parameterCount, 3 * (8 + 6 + 3 + 3))
  }

  func testNoisyRankAboveModeSizesAndDeterminism() throws {
    var g = NormalGenerator(seed: 22)
    let w = Tensor.randomCP(shape: [6, 5, 3, 3], rank: 4, using: &g).addingNoise(0.05, using: &g)
    let a = try cp(w, rank: 4, options: .init(maxSweeps: 200))
    XCTAssertEqual(a.relativeError, relativeError(a.factors.reconstruct(), w), accuracy: 1e-4)
    // Noise 5% of ‖W‖: the best rank-4 fit leaves at most ~5%; allow 6% for ALS.
    XCTAssertLessThan(a.relativeError, 0.06)
    let b = try cp(w, rank: 4, options: .init(maxSweeps: 200))
    XCTAssertEqual(a, b, "two runs must be bit-equal")
    // R = 7 > 3 = k1: padded start, still a valid fit no worse than rank 4 by much.
    let big = try cp(w, rank: 7, options: .init(maxSweeps: 50))
    XCTAssertEqual(big.factors.factors[2].shape, [3, 7])
    XCTAssertLessThan(big.relativeError, 0.06)
    let one = try cp(w, rank: 1, options: .init(maxSweeps: 20))
    XCTAssertEqual(one.relativeError, relativeError(one.factors.reconstruct(), w), accuracy: 1e-4)
  }

  func testZeroAndValidation() throws {
    XCTAssertEqual(try cp(Tensor(zeros: [2, 2, 2]), rank: 2).relativeError, 0)
    XCTAssertThrowsError(try cp(Tensor(zeros: [2, 2]), rank: 0))
    XCTAssertThrowsError(try cp(Tensor(zeros: [4]), rank: 1))
  }
}
