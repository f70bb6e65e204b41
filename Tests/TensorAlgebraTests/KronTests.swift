import XCTest
@testable import TensorAlgebra

final class KronTests: XCTestCase {
  /// W with W[π_out[o'], π_in[i']] = Σ_r a_r ⊗ b_r: exactly rank `rank` after the permutations.
  private func shuffledKronecker(
    c: (Int, Int), a: (Int, Int), spatial: [Int], rank: Int, seed: UInt64
  ) -> (w: Tensor, pOut: [Int], pIn: [Int]) {
    var g = NormalGenerator(seed: seed)
    let f = KronFactors(a: g.tensor([rank, c.0, a.0]), b: g.tensor([rank, c.1, a.1] + spatial))
    let permuted = f.reconstruct()
    let m = c.0 * c.1, ch = a.0 * a.1, k = spatial.reduce(1, *)
    let pOut = seededPermutation(count: m, seed: seed + 1)
    let pIn = seededPermutation(count: ch, seed: seed + 2)
    var w = [Float](repeating: 0, count: permuted.count)
    for o in 0..<m { for i in 0..<ch { for j in 0..<k {
      w[(pOut[o] * ch + pIn[i]) * k + j] = permuted.scalars[(o * ch + i) * k + j]
    } } }
    return (Tensor(shape: [m, ch] + spatial, scalars: w), pOut, pIn)
  }

  func testExactWithTruePermutations() throws {
    let (w, pOut, pIn) = shuffledKronecker(c: (4, 3), a: (2, 4), spatial: [3, 3], rank: 2, seed: 40)
    let fit = try kron(w, outputSplit: (4, 3), inputSplit: (2, 4), rank: 2, outputPermutation: pOut, inputPermutation: pIn)
    // Exact rank 2: Float32 round-off only.
    XCTAssertLessThan(fit.relativeError, 1e-5)
    // reconstruct() is W' (permuted order): undo the permutations and compare with W.
    let wp = fit.factors.reconstruct()
    var restored = [Float](repeating: 0, count: w.count)
    for o in 0..<12 { for i in 0..<8 { for j in 0..<9 { restored[(pOut[o] * 8 + pIn[i]) * 9 + j] = wp.scalars[(o * 8 + i) * 9 + j] } } }
    assertRelativeError(Tensor(shape: w.shape, scalars: restored), w, below: 1e-5)
    XCTAssertEqual(fit.factors.parameterCount, 2 * (4 * 2 + 3 * 4 * 9))
    // Identity permutations on the same W need more terms.
    let identity = try kron(w, outputSplit: (4, 3), inputSplit: (2, 4), rank: 2, outputPermutation: Array(0..<12), inputPermutation: Array(0..<8))
    XCTAssertGreaterThan(identity.relativeError, 0.1)
  }

  func testFullRankAndNoiseAndValidation() throws {
    var (w, pOut, pIn) = shuffledKronecker(c: (2, 3), a: (3, 2), spatial: [3], rank: 2, seed: 41)
    var g = NormalGenerator(seed: 42)
    w = w.addingNoise(0.02, using: &g)
    let full = try kron(w, outputSplit: (2, 3), inputSplit: (3, 2), rank: 6, outputPermutation: pOut, inputPermutation: pIn)
    XCTAssertLessThan(relativeError(full.factors.reconstruct(), kernelPermuted(w, pOut, pIn)), 1e-5)
    let two = try kron(w, outputSplit: (2, 3), inputSplit: (3, 2), rank: 2, outputPermutation: pOut, inputPermutation: pIn)
    XCTAssertLessThan(two.relativeError, 0.02)  // at most the 2% noise
    XCTAssertEqual(two.relativeError, relativeError(two.factors.reconstruct(), kernelPermuted(w, pOut, pIn)), accuracy: 1e-5)
    XCTAssertThrowsError(try kron(w, outputSplit: (4, 2), inputSplit: (3, 2), rank: 1, outputPermutation: pOut, inputPermutation: pIn)) {
      XCTAssertEqual("\($0)", "output split 4·2 = 8 does not match the 6 channels.")
    }
    XCTAssertThrowsError(try kron(w, outputSplit: (2, 3), inputSplit: (3, 2), rank: 7, outputPermutation: pOut, inputPermutation: pIn))
    XCTAssertThrowsError(try kron(w, outputSplit: (2, 3), inputSplit: (3, 2), rank: 1, outputPermutation: [0, 0, 1, 2, 3, 4], inputPermutation: pIn))
  }

  private func kernelPermuted(_ w: Tensor, _ pOut: [Int], _ pIn: [Int]) -> Tensor {
    let (m, c) = (w.shape[0], w.shape[1])
    let k = w.count / (m * c)
    var out = [Float](repeating: 0, count: w.count)
    for o in 0..<m { for i in 0..<c { for j in 0..<k { out[(o * c + i) * k + j] = w.scalars[(pOut[o] * c + pIn[i]) * k + j] } } }
    return Tensor(shape: w.shape, scalars: out)
  }
}
