import XCTest

@testable import TensorAlgebra

/// The two-factor refit of sequential correction (`LeastSquaresMoments.reducedRank`).
final class ReducedRankRegressionTests: XCTestCase {
  private func random(_ shape: [Int], _ g: inout SplitMix64) -> Tensor {
    Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in g.nextStandardNormal() })
  }

  /// Moments of the pairs (x, W·x + b + noise·ε) over `n` columns of x `[D, n]`.
  private func moments(_ w: Tensor, _ b: [Float], _ x: Tensor, noise: Float, _ g: inout SplitMix64) -> LeastSquaresMoments {
    var y = matmul(w, x)
    let n = x.shape[1]
    for o in 0..<w.shape[0] { for j in 0..<n { y.scalars[o * n + j] += b[o] + noise * g.nextStandardNormal() } }
    var m = LeastSquaresMoments(inputs: x.shape[0], outputs: w.shape[0])
    m.add(z: x.scalars, y: y.scalars, columns: n)
    return m
  }

  /// X = [(A·B)ᵀ; bᵀ] as the moments store maps.
  private func map(_ r: ReducedRankMap, m: Int, d: Int, rank: Int) -> [Double] {
    var x = [Double](repeating: 0, count: (d + 1) * m)
    for o in 0..<m {
      for k in 0..<d { x[k * m + o] = (0..<rank).reduce(0.0) { $0 + r.left[o * rank + $1] * r.right[$1 * d + k] } }
      x[d * m + o] = r.bias[o]
    }
    return x
  }

  func testAnExactRankRMapAndItsBiasAreRecovered() throws {
    var g = SplitMix64(seed: 3)
    let (m, d, rank, n) = (6, 12, 2, 400)
    let w = matmul(random([m, rank], &g), random([rank, d], &g))
    let b = (0..<m).map { Float($0) - 2.5 }
    let moments = moments(w, b, random([d, n], &g), noise: 0, &g)
    let fit = try XCTUnwrap(moments.reducedRank(rank: rank, prior: Array(repeating: 0, count: m * d), ridge: 0))
    let x = map(fit, m: m, d: d, rank: rank)
    XCTAssertLessThan(moments.relativeError(of: x), 1e-6)
    for o in 0..<m {
      XCTAssertEqual(fit.bias[o], Double(b[o]), accuracy: 1e-4)
      for k in 0..<d { XCTAssertEqual(x[k * m + o], Double(w.scalars[o * d + k]), accuracy: 1e-4) }
    }
    // A has orthonormal columns (to float precision: the eigenvectors come as floats).
    for p in 0..<rank {
      for q in 0..<rank {
        let dot = (0..<m).reduce(0.0) { $0 + fit.left[$1 * rank + p] * fit.left[$1 * rank + q] }
        XCTAssertEqual(dot, p == q ? 1 : 0, accuracy: 1e-6)
      }
    }
  }

  /// Both factors free fit the pairs at least as well as the last factor refitted on any fixed
  /// first factor (what the last-factor refit does), and strictly better on a poor one.
  func testBothFactorsFitBetterThanTheLastFactorOnAFixedFirstOne() throws {
    var g = SplitMix64(seed: 5)
    let (m, d, rank, n) = (8, 10, 3, 600)
    let w = random([m, d], &g)
    let b = [Float](repeating: 0.5, count: m)
    let x = random([d, n], &g)
    let both = moments(w, b, x, noise: 0.1, &g)
    let fit = try XCTUnwrap(both.reducedRank(rank: rank, prior: Array(repeating: 0, count: m * d)))
    let error = both.relativeError(of: map(fit, m: m, d: d, rank: rank))
    for _ in 0..<3 {
      let first = random([rank, d], &g)
      let z = matmul(first, x)
      var y = matmul(w, x)
      for o in 0..<m { for j in 0..<n { y.scalars[o * n + j] += b[o] } }
      var last = LeastSquaresMoments(inputs: rank, outputs: m)
      last.add(z: z.scalars, y: y.scalars, columns: n)
      let solved = try XCTUnwrap(last.solve(prior: Array(repeating: 0, count: (rank + 1) * m)))
      XCTAssertLessThan(error, last.relativeError(of: solved) - 0.01)
    }
  }

  /// Without upstream error (x the layer's own input, y = W·x + b) the rank-r map is response
  /// PCA's P_r·W (P_r from Cov(y)): sequential correction then has nothing to change.
  func testWithoutUpstreamErrorItIsResponsePCA() throws {
    var g = SplitMix64(seed: 7)
    let (m, d, rank, n) = (7, 9, 3, 500)
    let w = random([m, d], &g)
    let x = random([d, n], &g)
    let moments = moments(w, Array(repeating: 0, count: m), x, noise: 0, &g)
    let fit = try XCTUnwrap(moments.reducedRank(rank: rank, prior: Array(repeating: 0, count: m * d), ridge: 0))
    var y = SecondMoments(dimension: m)
    y.addColumns(matmul(w, x).scalars, columns: n)
    let pca = try responsePCA(w, covariance: y.covariance, rank: rank).factors.reconstruct()
    let got = map(fit, m: m, d: d, rank: rank)
    for o in 0..<m { for k in 0..<d { XCTAssertEqual(got[k * m + o], Double(pca.scalars[o * d + k]), accuracy: 1e-4) } }
  }

  func testNoPairsOrABadRankGiveNil() throws {
    let empty = LeastSquaresMoments(inputs: 4, outputs: 3)
    XCTAssertNil(try empty.reducedRank(rank: 2, prior: Array(repeating: 0, count: 12)))
    var g = SplitMix64(seed: 1)
    let m = moments(random([3, 4], &g), [0, 0, 0], random([4, 50], &g), noise: 0, &g)
    XCTAssertNil(try m.reducedRank(rank: 4, prior: Array(repeating: 0, count: 12)))
    XCTAssertNotNil(try m.reducedRank(rank: 3, prior: Array(repeating: 0, count: 12)))
  }
}
