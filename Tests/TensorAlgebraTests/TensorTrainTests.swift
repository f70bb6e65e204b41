import XCTest
@testable import TensorAlgebra

final class TensorTrainTests: XCTestCase {
  func testRecoversKnownTTRanksAndFullRank() throws {
    var g = NormalGenerator(seed: 60)
    let truth = TTFactors(cores: [g.tensor([1, 8, 3]), g.tensor([3, 3, 2]), g.tensor([2, 3, 4]), g.tensor([4, 6, 1])])
    let x = truth.reconstruct()
    XCTAssertEqual(x.shape, [8, 3, 3, 6])
    let fit = try tensorTrain(x, ranks: [3, 2, 4])
    // Exact TT ranks: Float32 round-off only.
    XCTAssertLessThan(fit.relativeError, 1e-5)
    XCTAssertEqual(fit.factors.ranks, [3, 2, 4])
    XCTAssertEqual(fit.factors.parameterCount, 8 * 3 + 3 * 3 * 2 + 2 * 3 * 4 + 4 * 6)
    let noisy = x.addingNoise(0.05, using: &g)
    let full = try tensorTrain(noisy, ranks: [8, 18, 6])
    XCTAssertLessThan(full.relativeError, 1e-5)
    XCTAssertLessThan(try tensorTrain(noisy, ranks: [3, 2, 4]).relativeError, 0.05)
    XCTAssertThrowsError(try tensorTrain(x, ranks: [3, 2]))
    XCTAssertThrowsError(try tensorTrain(x, ranks: [9, 2, 4]))
  }
}
