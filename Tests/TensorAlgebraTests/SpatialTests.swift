import XCTest
@testable import TensorAlgebra

final class SpatialTests: XCTestCase {
  func testFullRankRebuildsTheKernelAndTruncationMatchesItsSpectrum() throws {
    var g = NormalGenerator(seed: 5)
    let w = g.tensor([6, 4, 3, 3])
    let full = try spatialSVD(w, rank: 12)  // min(C·kh, M·kw) = min(12, 18)
    XCTAssertEqual(full.relativeError, 0, accuracy: 1e-6)
    for (a, b) in zip(full.factors.reconstruct().scalars, w.scalars) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    XCTAssertEqual(full.factors.parameterCount, SpatialFactors.parameterCount(shape: w.shape, rank: 12))
    let low = try spatialSVD(w, rank: 5)
    let residual = zip(low.factors.reconstruct().scalars, w.scalars).reduce(0.0) { $0 + pow(Double($1.0 - $1.1), 2) }
    XCTAssertEqual(residual.squareRoot() / w.frobeniusNorm, low.relativeError, accuracy: 1e-4)
    XCTAssertEqual(low.factors.vertical.shape, [5, 4, 3])
    XCTAssertEqual(low.factors.horizontal.shape, [6, 5, 3])
  }

  /// A kernel with an exact separable rank is recovered at that rank.
  func testSeparableKernelIsExactAtItsRank() throws {
    var g = NormalGenerator(seed: 9)
    let truth = SpatialFactors(vertical: g.tensor([2, 3, 3]), horizontal: g.tensor([5, 2, 3]))
    let fit = try spatialSVD(truth.reconstruct(), rank: 2)
    XCTAssertLessThan(fit.relativeError, 1e-5)
  }

  /// Patches x with very unequal variance per entry: the response refit must give a smaller
  /// response error tr(E·Gx·Eᵀ) than the weight fit, which it starts from and which weighs
  /// every entry alike, and its bias must restore the mean response W·μ + b.
  func testResponseRefitBeatsTheWeightFitOnTheResponses() throws {
    var g = NormalGenerator(seed: 21)
    let (m, c, k) = (6, 3, 3)
    let d = c * k * k
    let w = g.tensor([m, c, k, k])
    let scale = (0..<d).map { pow(0.6, Double($0 % 9)) }  // taps far from the first weigh little
    let samples = 400
    var moments = SecondMoments(dimension: d)
    var block = [Float](repeating: 0, count: d * samples)
    for i in 0..<d { for s in 0..<samples { block[i * samples + s] = Float(Double(g.next()) * scale[i] + 0.5) } }
    moments.addColumns(block, columns: samples)
    let start = try spatialSVD(w, rank: 2)
    let bias = [Float](repeating: 0.1, count: m)
    let refit = try spatialResponseRefit(start.factors, kernel: w, covariance: moments.covariance, mean: moments.mean, bias: bias)
    func responseError(_ f: SpatialFactors) -> Double {
      let e = zip(w.scalars, f.reconstruct().scalars).map { Double($0 - $1) }
      let cov = moments.covariance
      var num = 0.0, den = 0.0
      for o in 0..<m {
        for a in 0..<d {
          for b in 0..<d {
            num += e[o * d + a] * cov[a * d + b] * e[o * d + b]
            den += Double(w.scalars[o * d + a]) * cov[a * d + b] * Double(w.scalars[o * d + b])
          }
        }
      }
      return (num / den).squareRoot()
    }
    XCTAssertEqual(refit.responseError, responseError(refit.factors), accuracy: 1e-4)
    XCTAssertLessThan(refit.responseError, 0.8 * responseError(start.factors))
    XCTAssertEqual(refit.factors.vertical, start.factors.vertical, "only the horizontal factor is refitted")
    // Mean response: W·μ + b = Ŵ·μ + b′.
    let mu = moments.mean
    let rebuilt = refit.factors.reconstruct().scalars
    for o in 0..<m {
      var exact = Double(bias[o]), approx = Double(refit.bias[o])
      for a in 0..<d { exact += Double(w.scalars[o * d + a]) * mu[a]; approx += Double(rebuilt[o * d + a]) * mu[a] }
      XCTAssertEqual(approx, exact, accuracy: 1e-4)
    }
  }
}
