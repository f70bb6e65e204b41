import XCTest
@testable import TensorAlgebra

final class TensorTests: XCTestCase {
  func testTransposeMatchesNumpySemantics() {
    // a = arange(24).reshape(2,3,4); a.transpose(2,0,1)[3,1,2] == a[1,2,3] == 23
    let a = Tensor(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))
    let t = a.transposed([2, 0, 1])
    XCTAssertEqual(t.shape, [4, 2, 3])
    XCTAssertEqual(t.scalars[3 * 6 + 1 * 3 + 2], 23)
    XCTAssertEqual(t.scalars[1 * 6 + 0 * 3 + 2], 9)  // a[0,2,1] = 9
    XCTAssertEqual(t.transposed(inversePermutation([2, 0, 1])), a)
  }

  func testUnfoldOrdersOtherModes() {
    // TensorLy: unfold(a, 1)[j] = a[:, j, :].ravel()
    let a = Tensor(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))
    let u = a.unfolded(mode: 1)
    XCTAssertEqual(u.shape, [3, 8])
    XCTAssertEqual(Array(u.scalars[8..<16]), [4, 5, 6, 7, 16, 17, 18, 19])
  }

  func testModeProductMatchesUnfoldedProduct() {
    var g = NormalGenerator(seed: 1)
    let x = g.tensor([3, 4, 5])
    for mode in 0..<3 {
      let a = g.tensor([2, x.shape[mode]])
      let y = x.modeProduct(a, mode: mode)
      // (X ×ₙ A)₍ₙ₎ = A · X₍ₙ₎
      let expected = matmul(a, x.unfolded(mode: mode))
      // Float32 GEMM sums of ≤ 5 terms: ~1e-7 relative; 1e-6 leaves headroom.
      assertRelativeError(y.unfolded(mode: mode), expected, below: 1e-6, "mode \(mode)")
    }
  }

  func testMatmulTransposes() {
    let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    let b = Tensor(shape: [3, 2], scalars: [1, 0, 0, 1, 1, 1])
    XCTAssertEqual(matmul(a, b).scalars, [4, 5, 10, 11])
    XCTAssertEqual(matmul(b, a, transposeA: true, transposeB: true).scalars, [4, 10, 5, 11])
    XCTAssertEqual(a.frobeniusNorm, (91.0).squareRoot(), accuracy: 1e-12)
  }
}

final class TensorEdgeTests: XCTestCase {
  func testTransposeOfEmptyAndSingletonTensorsPermutesShape() {
    XCTAssertEqual(Tensor(zeros: [2, 0, 3]).transposed([2, 0, 1]).shape, [3, 2, 0])
    XCTAssertEqual(Tensor(zeros: [1, 1, 1]).transposed([1, 2, 0]).shape, [1, 1, 1])
    XCTAssertEqual(Tensor(zeros: [1, 3]).transposed([1, 0]).shape, [3, 1])
  }
}
