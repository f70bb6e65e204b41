import XCTest
@testable import TensorAlgebra

/// CP-ALS runs on preallocated buffers (`CPBuffers`, `MTTKRPPlan`); rewritten models must keep
/// their bytes, so the factors must keep their bits. The digests below were computed by the
/// array-per-step implementation this replaced (commit b255c0e), compiled alone with the same
/// `NormalGenerator` tensors: FNV-1a over every factor's float bits, the error's bits and the
/// sweep count.
final class CPGoldenTests: XCTestCase {
  private func digest(_ fit: CPFit) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ x: UInt64) { for b in 0..<8 { h = (h ^ ((x >> (8 * UInt64(b))) & 0xff)) &* 0x100_0000_01b3 } }
    for f in fit.factors.factors { for x in f.scalars { mix(UInt64(x.bitPattern)) } }
    mix(fit.relativeError.bitPattern)
    mix(UInt64(fit.sweeps))
    return h
  }

  func testFactorsKeepTheBitsOfTheArrayImplementation() throws {
    // (seed, shape, rank, sweep cap, digest, sweeps): a conv kernel of the scaling chain, rank
    // above the mode sizes (random padded start), a rank-1 fit, order 3, M ≠ C, and a rank so
    // high the error falls below 1e-2 (recomputed from the reconstruction).
    let cases: [(UInt64, [Int], Int, Int, UInt64, Int)] = [
      (40, [16, 16, 3, 3], 4, 100, 0x4408_f354_1095_4f93, 41),
      (41, [6, 5, 3, 3], 7, 50, 0x63eb_4cbf_0e4e_6022, 50),
      (42, [8, 6, 3, 3], 1, 20, 0x95e6_d57b_1511_b4f9, 13),
      (43, [5, 7, 2], 3, 100, 0x51ec_4c29_8150_4ac8, 100),
      (44, [16, 8, 3, 3], 4, 100, 0x85b8_159c_ede8_089f, 48),
      (45, [4, 4, 3, 3], 40, 100, 0x6d5a_00ac_e7bb_9d07, 2),
    ]
    for (seed, shape, rank, cap, expected, sweeps) in cases {
      var g = NormalGenerator(seed: seed)
      let fit = try cp(g.tensor(shape), rank: rank, options: .init(maxSweeps: cap))
      XCTAssertEqual(fit.sweeps, sweeps, "seed \(seed)")
      XCTAssertEqual(digest(fit), expected, "seed \(seed): factors differ from the array implementation's")
    }
  }

  func testExactRankFitKeepsItsBits() throws {
    var g = NormalGenerator(seed: 21)
    let w = CPFactors(factors: [8, 6, 3, 3].map { g.tensor([$0, 3]) }).reconstruct()
    let fit = try cp(w, rank: 3, options: .init(tolerance: 1e-9, maxSweeps: 500))
    XCTAssertEqual(fit.sweeps, 66)
    XCTAssertEqual(digest(fit), 0x133b_944b_81cb_512b)
  }
}
