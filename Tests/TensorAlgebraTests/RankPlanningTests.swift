import XCTest
@testable import TensorAlgebra

final class RankPlanningTests: XCTestCase {
  func testParameterCountsMatchFactors() throws {
    var g = NormalGenerator(seed: 70)
    let w = g.tensor([12, 6, 3, 3])
    XCTAssertEqual(SVDFactors.parameterCount(shape: w.shape, rank: 4), try lowRankSVD(w, rank: 4).factors.parameterCount)
    XCTAssertEqual(
      Tucker2Factors.parameterCount(shape: w.shape, ranks: (output: 5, input: 2)),
      try tucker2(w, ranks: (output: 5, input: 2)).factors.parameterCount)
    XCTAssertEqual(CPFactors.parameterCount(shape: w.shape, rank: 3), try cp(w, rank: 3, options: .init(maxSweeps: 1)).factors.parameterCount)
    let kron = try kron(w, outputSplit: (3, 4), inputSplit: (2, 3), rank: 2, outputPermutation: Array(0..<12), inputPermutation: Array(0..<6))
    XCTAssertEqual(KronFactors.parameterCount(outputSplit: (3, 4), inputSplit: (2, 3), spatial: [3, 3], rank: 2), kron.factors.parameterCount)
  }

  func testTucker2ErrorBoundHoldsForEveryRankPair() throws {
    var g = NormalGenerator(seed: 71)
    let w = Tensor.randomTucker2(shape: [10, 8, 3, 3], ranks: (6, 5), using: &g).addingNoise(0.1, using: &g)
    let spectra = try modeSpectra(w)
    for ro in [1, 3, 6, 10] {
      for ri in [1, 4, 8] {
        let fit = try tucker2(w, ranks: (output: ro, input: ri))
        let bound = tucker2ErrorBound(spectra: spectra, ranks: (output: ro, input: ri))
        // The bound is exact maths; 1e-6 absorbs Float32 round-off in the fit's error.
        XCTAssertLessThanOrEqual(fit.relativeError, bound + 1e-6, "(\(ro), \(ri))")
      }
    }
    XCTAssertEqual(tucker2ErrorBound(spectra: spectra, ranks: (output: 10, input: 8)), 0, accuracy: 1e-12)
  }
}
