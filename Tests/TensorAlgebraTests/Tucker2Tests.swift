import XCTest
@testable import TensorAlgebra

final class Tucker2Tests: XCTestCase {
  func testRecoversExactRanks() throws {
    var g = NormalGenerator(seed: 7)
    let w = Tensor.randomTucker2(shape: [16, 8, 3, 3], ranks: (4, 3), using: &g)
    let fit = try tucker2(w, ranks: (output: 4, input: 3))
    // Float32 on 1152 entries: error ≈ 1e-6, so 1e-5 leaves 10× headroom.
    assertRelativeError(fit.factors.reconstruct(), w, below: 1e-5)
    XCTAssertLessThan(fit.relativeError, 1e-5)
    XCTAssertEqual(fit.factors.core.shape, [4, 3, 3, 3])
    XCTAssertEqual(fit.factors.parameterCount, 4 * 3 * 9 + 16 * 4 + 8 * 3)
    assertOrthonormalColumns(fit.factors.output, tolerance: 1e-5, "output")
    assertOrthonormalColumns(fit.factors.input, tolerance: 1e-5, "input")
  }

  func testNoisyHOOINeverWorseThanHOSVDAndErrorIsHonest() throws {
    var g = NormalGenerator(seed: 8)
    let w = Tensor.randomTucker2(shape: [12, 10, 3, 3], ranks: (5, 4), using: &g).addingNoise(0.1, using: &g)
    for ranks in [(5, 4), (3, 2), (1, 1), (12, 10)] {
      let fit = try tucker2(w, ranks: (output: ranks.0, input: ranks.1), options: .init(tolerance: 0, maxSweeps: 5))
      XCTAssertLessThanOrEqual(fit.relativeError, fit.errors[0], "\(ranks)")
      XCTAssertEqual(fit.errors.count, fit.sweeps + 1)
      // Cheap error (1 − ‖G‖²/‖W‖²) agrees with the reconstruction to Float32 round-off.
      XCTAssertEqual(fit.relativeError, relativeError(fit.factors.reconstruct(), w), accuracy: 1e-5, "\(ranks)")
    }
    let full = try tucker2(w, ranks: (output: 12, input: 10))
    assertRelativeError(full.factors.reconstruct(), w, below: 1e-5, "full rank")
    // Noise is 10% of ‖W‖; the true ranks leave at most that.
    XCTAssertLessThan(try tucker2(w, ranks: (output: 5, input: 4)).relativeError, 0.1)
  }

  func testHOSVDOnlyAndValidation() throws {
    var g = NormalGenerator(seed: 9)
    let w = g.tensor([6, 5, 3, 3])
    let hosvd = try tucker2(w, ranks: (output: 2, input: 2), options: .init(maxSweeps: 0))
    XCTAssertEqual(hosvd.sweeps, 0)
    XCTAssertEqual(hosvd.errors.count, 1)
    XCTAssertThrowsError(try tucker2(w, ranks: (output: 7, input: 2))) { error in
      XCTAssertEqual("\(error)", "output rank 7 exceeds min(M, C·k1·k2) = 6.")
    }
    XCTAssertThrowsError(try tucker2(w, ranks: (output: 2, input: 0)))
    let zero = try tucker2(Tensor(zeros: [4, 3, 2, 2]), ranks: (output: 2, input: 2))
    XCTAssertEqual(zero.relativeError, 0)
    XCTAssertFalse(zero.factors.core.scalars.contains { !$0.isFinite })
  }

  func testOneDAndThreeDKernelsAndDeterminism() throws {
    var g = NormalGenerator(seed: 10)
    for shape in [[10, 6, 5], [10, 6, 3, 3, 3], [10, 6]] {
      let w = Tensor.randomTucker2(shape: shape, ranks: (3, 2), using: &g)
      let a = try tucker2(w, ranks: (output: 3, input: 2))
      assertRelativeError(a.factors.reconstruct(), w, below: 1e-5, "\(shape)")
      let b = try tucker2(w, ranks: (output: 3, input: 2))
      XCTAssertEqual(a, b, "two runs must be bit-equal")
    }
  }

  func testModeSpectraMatchSVD() throws {
    var g = NormalGenerator(seed: 11)
    let w = g.tensor([6, 4, 3, 3])
    let spectra = try modeSpectra(w)
    let s0 = try singularValueDecomposition(w.unfolded(mode: 0)).singularValues
    let s1 = try singularValueDecomposition(w.unfolded(mode: 1)).singularValues
    XCTAssertEqual(spectra.output.count, 6)
    XCTAssertEqual(spectra.input.count, 4)
    // Gram in Double vs Float32 SVD: agree to ~1e-6 relative to σ₁.
    for (x, y) in zip(spectra.output, s0) { XCTAssertEqual(x, y, accuracy: 1e-4 * s0[0]) }
    for (x, y) in zip(spectra.input, s1) { XCTAssertEqual(x, y, accuracy: 1e-4 * s1[0]) }
  }
}

final class Tucker2PathTests: XCTestCase {
  /// Every code path: C < M and C ≥ M (which mode the start truncates first), 1×1 kernels and
  /// matrices (the exact SVD path, with M ≥ C and M < C, ro ≠ ri).
  func testEveryPathRecoversExactRanksWithOrthonormalFactors() throws {
    var g = NormalGenerator(seed: 12)
    let cases: [([Int], (Int, Int))] = [
      ([24, 6, 3, 3], (4, 3)), ([6, 24, 3, 3], (3, 4)), ([30, 12, 1, 1], (5, 3)), ([12, 30, 1, 1], (3, 5)),
      ([30, 12], (2, 6)), ([12, 30], (6, 2)),
    ]
    for (shape, ranks) in cases {
      let w = Tensor.randomTucker2(shape: shape, ranks: ranks, using: &g)
      let fit = try tucker2(w, ranks: (output: ranks.0, input: ranks.1))
      // Exact Tucker ranks: Float32 round-off only (~1e-6); 1e-5 leaves 10×.
      assertRelativeError(fit.factors.reconstruct(), w, below: 1e-5, "\(shape)")
      XCTAssertLessThan(fit.relativeError, 1e-5, "\(shape)")
      assertOrthonormalColumns(fit.factors.output, tolerance: 1e-5, "\(shape) output")
      assertOrthonormalColumns(fit.factors.input, tolerance: 1e-5, "\(shape) input")
      let noisy = w.addingNoise(0.1, using: &g)
      let n = try tucker2(noisy, ranks: (output: ranks.0, input: ranks.1))
      XCTAssertEqual(n.relativeError, relativeError(n.factors.reconstruct(), noisy), accuracy: 1e-5, "\(shape) noisy")
      XCTAssertLessThan(n.relativeError, 0.1, "\(shape): at most the 10% noise")
    }
  }

  func testMatrixPathMatchesTruncatedSVD() throws {
    var g = NormalGenerator(seed: 13)
    let w = g.tensor([20, 8, 1, 1])
    let fit = try tucker2(w, ranks: (output: 5, input: 3))
    // Best rank-(5, 3) Tucker of a matrix keeps min(5, 3) = 3 singular values (Eckart–Young).
    let svd = try lowRankSVD(w, rank: 3)
    XCTAssertEqual(fit.relativeError, svd.relativeError, accuracy: 1e-5)
    XCTAssertEqual(fit.sweeps, 0)
  }
}
