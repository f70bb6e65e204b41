import XCTest
@testable import TensorAlgebra

/// The least-squares refit of sequential correction (`LeastSquaresMoments`).
final class LeastSquaresMomentsTests: XCTestCase {
  /// `w·z + b` per column, `[M, columns]`.
  private func affine(_ w: Tensor, _ b: [Float], _ z: Tensor) -> Tensor {
    var y = matmul(w, z)
    let columns = z.shape[1]
    for o in 0..<w.shape[0] { for j in 0..<columns { y.scalars[o * columns + j] += b[o] } }
    return y
  }

  /// X = [Wᵀ; bᵀ] as the moments store maps.
  private func map(_ w: Tensor, _ b: [Float]) -> [Double] {
    let (m, r) = (w.shape[0], w.shape[1])
    var x = [Double](repeating: 0, count: (r + 1) * m)
    for o in 0..<m {
      for j in 0..<r { x[j * m + o] = Double(w.scalars[o * r + j]) }
      x[r * m + o] = Double(b[o])
    }
    return x
  }

  /// Adds `[r, columns]` / `[M, columns]` in two blocks, as two images would.
  private func moments(z: Tensor, y: Tensor) -> LeastSquaresMoments {
    var m = LeastSquaresMoments(inputs: z.shape[0], outputs: y.shape[0])
    let columns = z.shape[1], half = columns / 3
    for (start, count) in [(0, half), (half, columns - half)] {
      let zb = (0..<z.shape[0]).flatMap { i in z.scalars[(i * columns + start)..<(i * columns + start + count)] }
      let yb = (0..<y.shape[0]).flatMap { i in y.scalars[(i * columns + start)..<(i * columns + start + count)] }
      m.add(z: zb, y: yb, columns: count)
    }
    XCTAssertEqual(m.count, columns)
    return m
  }

  func testAReachableTargetIsRecoveredExactly() throws {
    var g = NormalGenerator(seed: 31)
    // More columns than one BLAS chunk, so the chunked accumulation is exercised.
    let (r, m, columns) = (5, 7, LeastSquaresMoments.chunk + 900)
    let z = g.tensor([r, columns])
    let w = g.tensor([m, r])
    let b = (0..<m).map { _ in g.next() }
    let s = moments(z: z, y: affine(w, b, z))
    let x = try XCTUnwrap(s.solve(prior: [Double](repeating: 0, count: (r + 1) * m), ridge: 0))
    let truth = map(w, b)
    for k in truth.indices { XCTAssertEqual(x[k], truth[k], accuracy: 1e-6) }
    XCTAssertLessThan(s.relativeError(of: x), 1e-6)
    // The zero map misses all of y.
    XCTAssertEqual(s.relativeError(of: [Double](repeating: 0, count: (r + 1) * m)), 1, accuracy: 1e-12)
  }

  func testTheStatedResidualIsTheDirectOne() {
    var g = NormalGenerator(seed: 32)
    let (r, m, columns) = (3, 4, 200)
    let z = g.tensor([r, columns]), y = g.tensor([m, columns])
    let w = g.tensor([m, r])
    let b = (0..<m).map { _ in g.next() }
    let direct = relativeError(affine(w, b, z), y)
    // `affine` is float32: agreement to its rounding.
    XCTAssertEqual(moments(z: z, y: y).relativeError(of: map(w, b)), direct, accuracy: 1e-6 * direct)
  }

  /// Two layers: the first is compressed with an error, the second's response-PCA factors are
  /// fitted to the original network's responses. Refitting its last factor and bias on the
  /// compressed network's own activations must cut the second layer's output error, and the
  /// refit is the least-squares optimum (no perturbation does better).
  func testRefittingOnCompressedActivationsCutsTheDownstreamError() throws {
    var g = NormalGenerator(seed: 33)
    let (k, hidden, m, r, columns) = (10, 8, 9, 4, 600)
    let x = g.tensor([k, columns])
    let first = g.tensor([hidden, k])
    let compressedFirst = first.addingNoise(0.3, using: &g)
    let h = matmul(first, x), hc = matmul(compressedFirst, x)
    let second = g.tensor([m, hidden])
    let bias = (0..<m).map { _ in g.next() }
    let y = affine(second, bias, h)
    // Response PCA of the second layer on the original responses.
    var s = SecondMoments(dimension: m)
    s.addColumns(y.scalars, columns: columns)
    let (pca, _) = try responsePCA(second, covariance: s.covariance, rank: r)
    let pcaBias = responseBias(left: pca.left, bias: bias, mean: s.mean)
    // z: the first factor's output in the compressed network.
    let z = matmul(pca.right, hc)
    let ls = moments(z: z, y: y)
    let prior = map(pca.left, pcaBias)
    let before = ls.relativeError(of: prior)
    let x1 = try XCTUnwrap(ls.solve(prior: prior))
    let after = ls.relativeError(of: x1)
    print("two-layer output error: response PCA \(before), corrected \(after)")
    XCTAssertLessThan(after, 0.9 * before)
    for step in [1e-3, 1e-2] {
      let nudged = x1.map { $0 + step * Double(g.next()) }
      XCTAssertGreaterThanOrEqual(ls.relativeError(of: nudged), after)
    }
  }

  func testADirectionThatNeverVariesKeepsItsPriorWeight() throws {
    var g = NormalGenerator(seed: 34)
    let (m, columns) = (3, 100)
    var z = g.tensor([2, columns])
    for j in 0..<columns { z.scalars[columns + j] = 0 }  // the second channel is dead
    let w = g.tensor([m, 2])
    let y = affine(w, [0, 0, 0], z)
    let ls = moments(z: z, y: y)
    XCTAssertNil(try ls.solve(prior: [Double](repeating: 0, count: 9), ridge: 0))  // singular without the ridge
    var prior = [Double](repeating: 0, count: 9)
    for o in 0..<m { prior[m + o] = 5 }  // the dead channel's weights
    let x = try XCTUnwrap(ls.solve(prior: prior))
    for o in 0..<m {
      XCTAssertEqual(x[m + o], 5, accuracy: 1e-9)
      XCTAssertEqual(x[o], Double(w.scalars[o * 2]), accuracy: 1e-4)
    }
  }
}
