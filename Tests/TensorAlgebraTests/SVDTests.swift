import XCTest
@testable import TensorAlgebra

final class SVDTests: XCTestCase {
  func testThinSVDReconstructsAndIsOrthonormal() throws {
    var g = NormalGenerator(seed: 2)
    for shape in [[7, 12], [12, 7], [5, 5]] {
      let a = g.tensor(shape)
      let s = try singularValueDecomposition(a)
      let k = min(shape[0], shape[1])
      XCTAssertEqual(s.u.shape, [shape[0], k])
      XCTAssertEqual(s.vt.shape, [k, shape[1]])
      var us = s.u
      for i in 0..<shape[0] { for j in 0..<k { us.scalars[i * k + j] *= s.singularValues[j] } }
      // Float32 SVD backward error ≈ k·ε ≈ 1e-6; 1e-5 leaves 10×.
      assertRelativeError(matmul(us, s.vt), a, below: 1e-5, "\(shape)")
      assertOrthonormalColumns(s.u, tolerance: 1e-5, "U")
      assertOrthonormalColumns(s.vt.transposed([1, 0]), tolerance: 1e-5, "V")
      XCTAssertEqual(s.singularValues, s.singularValues.sorted(by: >))
    }
  }

  func testLowRankSVDRecoversKnownRank() throws {
    var g = NormalGenerator(seed: 3)
    let w = Tensor.randomLowRank(shape: [16, 8, 3, 3], rank: 5, using: &g)
    let fit = try lowRankSVD(w, rank: 5)
    // Exact rank 5: only Float32 round-off remains, ~1e-6.
    assertRelativeError(fit.factors.reconstruct().reshaped(w.shape), w, below: 1e-5)
    XCTAssertLessThan(fit.relativeError, 1e-5)
    XCTAssertEqual(fit.singularValues.count, 16)
    XCTAssertEqual(fit.factors.parameterCount, 5 * (16 + 72))
  }

  func testLowRankSVDWithNoiseMatchesSpectrumError() throws {
    var g = NormalGenerator(seed: 4)
    let w = Tensor.randomLowRank(shape: [12, 4, 3], rank: 3, using: &g).addingNoise(0.05, using: &g)
    let fit = try lowRankSVD(w, rank: 3)
    let direct = relativeError(fit.factors.reconstruct().reshaped(w.shape), w)
    // The spectrum error equals the direct error up to Float32 round-off (~1e-6 absolute).
    XCTAssertEqual(fit.relativeError, direct, accuracy: 1e-5)
    // Noise 5% of ‖W‖: the rank-3 residual is at most the noise.
    XCTAssertLessThan(fit.relativeError, 0.05)
  }

  func testFullRankAndRankOne() throws {
    var g = NormalGenerator(seed: 5)
    let w = g.tensor([6, 4])
    let full = try lowRankSVD(w, rank: 4)
    assertRelativeError(full.factors.reconstruct(), w, below: 1e-5, "full rank")
    let one = try lowRankSVD(w, rank: 1)
    XCTAssertEqual(one.factors.left.shape, [6, 1])
    XCTAssertEqual(one.relativeError, relativeError(one.factors.reconstruct(), w), accuracy: 1e-5)
  }

  func testOneDAndThreeDKernels() throws {
    var g = NormalGenerator(seed: 6)
    for shape in [[8, 3, 5], [8, 2, 3, 3, 3]] {
      let w = Tensor.randomLowRank(shape: shape, rank: 2, using: &g)
      let fit = try lowRankSVD(w, rank: 2)
      assertRelativeError(fit.factors.reconstruct().reshaped(shape), w, below: 1e-5, "\(shape)")
    }
  }

  func testRankValidationAndZeroKernel() throws {
    let w = Tensor(zeros: [2, 2, 2])
    XCTAssertThrowsError(try lowRankSVD(w, rank: 3)) { error in
      XCTAssertEqual(error as? DecompositionError, .rankTooLarge(name: "rank", rank: 3, bound: "min(M, C·k1)", maximum: 2))
      XCTAssertEqual("\(error)", "rank 3 exceeds min(M, C·k1) = 2.")
    }
    XCTAssertThrowsError(try lowRankSVD(w, rank: 0))
    let fit = try lowRankSVD(w, rank: 1)
    XCTAssertEqual(fit.relativeError, 0)
    XCTAssertThrowsError(try lowRankSVD(Tensor(shape: [2, 2], scalars: [1, .nan, 0, 0]), rank: 1))
  }

  func testTruncationErrorsAndSmallestRank() {
    let e = truncationErrors(singularValues: [3, 4, 0])
    XCTAssertEqual(e.count, 4)
    XCTAssertEqual(e[0], 1, accuracy: 1e-15)
    XCTAssertEqual(e[1], 0.8, accuracy: 1e-15)  // √(16/25)
    XCTAssertEqual(e[2], 0)
    XCTAssertEqual(smallestRank(errors: e, maxError: 0.9), 1)
    XCTAssertEqual(smallestRank(errors: e, maxError: 0.5), 2)
    XCTAssertEqual(truncationErrors(singularValues: [0, 0]), [0, 0, 0])
  }
}
