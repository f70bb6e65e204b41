import XCTest
@testable import TensorAlgebra

final class ResponsePCATests: XCTestCase {
  /// Inputs with very unequal variance per direction, so weight error and response error disagree.
  private func data(_ g: inout NormalGenerator, k: Int, samples: Int) -> Tensor {
    var x = g.tensor([k, samples])
    for i in 0..<k {
      let scale = Float(pow(0.5, Double(i)))  // variances 1, 1/4, 1/16, ...
      for j in 0..<samples { x.scalars[i * samples + j] = x.scalars[i * samples + j] * scale + 0.3 }
    }
    return x
  }

  private func moments(_ y: Tensor) -> SecondMoments {
    var s = SecondMoments(dimension: y.shape[0])
    // Two blocks, as a run over two images would add them.
    let half = y.shape[1] / 2
    let rows = (0..<y.shape[0]).map { Array(y.scalars[($0 * y.shape[1])..<($0 * y.shape[1] + y.shape[1])]) }
    s.addColumns(rows.flatMap { $0.prefix(half) }, columns: half)
    s.addColumns(rows.flatMap { $0.suffix(y.shape[1] - half) }, columns: y.shape[1] - half)
    return s
  }

  func testSecondMomentsMatchTheDirectMeanAndCovariance() {
    var g = NormalGenerator(seed: 11)
    let y = g.tensor([4, 50])
    let s = moments(y)
    XCTAssertEqual(s.count, 50)
    for i in 0..<4 {
      let row = (0..<50).map { Double(y.scalars[i * 50 + $0]) }
      let mean = row.reduce(0, +) / 50
      XCTAssertEqual(s.mean[i], mean, accuracy: 1e-9)
      for j in 0..<4 {
        let other = (0..<50).map { Double(y.scalars[j * 50 + $0]) }
        let otherMean = other.reduce(0, +) / 50
        let cov = zip(row, other).map { ($0 - mean) * ($1 - otherMean) }.reduce(0, +) / 50
        XCTAssertEqual(s.covariance[i * 4 + j], cov, accuracy: 1e-6)
      }
    }
  }

  /// Eckart–Young on W·Σ^½: at equal rank the response fit's output error is at most the weight
  /// SVD's, and with the corrected bias the mean response is reproduced exactly.
  func testResponseFitBeatsWeightFitOnTheResponses() throws {
    var g = NormalGenerator(seed: 12)
    let (m, k, n, r) = (8, 12, 400, 3)
    let w = g.tensor([m, k])
    let x = data(&g, k: k, samples: n)
    let y = matmul(w, x)
    let s = moments(y)
    let (pca, fitResponseError) = try responsePCA(w, covariance: s.covariance, rank: r)
    XCTAssert(fitResponseError > 0 && fitResponseError < 1, "\(fitResponseError)")
    assertOrthonormalColumns(pca.left, tolerance: 1e-5, "U_r")
    let bias = responseBias(left: pca.left, bias: Array(repeating: 0, count: m), mean: s.mean)
    func outputError(_ approx: Tensor, bias b: [Float]) -> Double {
      let z = matmul(approx, x)
      var d = 0.0
      var t = 0.0
      for i in 0..<m {
        for j in 0..<n {
          let e = Double(z.scalars[i * n + j] + b[i] - y.scalars[i * n + j])
          d += e * e
          t += Double(y.scalars[i * n + j]) * Double(y.scalars[i * n + j])
        }
      }
      return (d / t).squareRoot()
    }
    let svd = try lowRankSVD(w, rank: r).factors.reconstruct()
    let responseError = outputError(pca.reconstruct(), bias: bias)
    let weightError = outputError(svd, bias: Array(repeating: 0, count: m))
    XCTAssertLessThan(responseError, weightError)
    // The mean input maps to the mean response.
    let meanInput = Tensor(shape: [k, 1], scalars: (0..<k).map { i in (0..<n).map { x.scalars[i * n + $0] }.reduce(0, +) / Float(n) })
    let atMean = matmul(pca.reconstruct(), meanInput)
    for i in 0..<m { XCTAssertEqual(Double(atMean.scalars[i] + bias[i]), s.mean[i], accuracy: 1e-4) }
  }

  func testNonFiniteCovarianceIsRefused() {
    var g = NormalGenerator(seed: 13)
    var c = [Double](repeating: 0, count: 16)
    c[5] = .nan
    XCTAssertThrowsError(try responsePCA(g.tensor([4, 6]), covariance: c, rank: 2))
  }
}
