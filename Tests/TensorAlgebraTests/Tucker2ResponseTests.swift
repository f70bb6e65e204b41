import XCTest
@testable import TensorAlgebra

final class Tucker2ResponseTests: XCTestCase {
  /// A 1×1 conv as a matrix product (one tap, so the fit's tap approximation is exact), with
  /// input channels of very unequal spread, correlated and off-centre.
  private struct Layer {
    let kernel: Tensor  // [M, C, 1, 1]
    let x: Tensor  // [C, n]
    let y: Tensor  // [M, n]
    let outputMoments: SecondMoments
    let inputSecondMoment: [Double]
  }

  private func layer(seed: UInt64, m: Int, c: Int, n: Int) -> Layer {
    var g = NormalGenerator(seed: seed)
    let kernel = g.tensor([m, c, 1, 1])
    let mix = g.tensor([c, c])
    var z = g.tensor([c, n])
    for i in 0..<c {
      let scale = Float(pow(0.6, Double(i)))
      for j in 0..<n { z.scalars[i * n + j] *= scale }
    }
    var x = matmul(mix, z)
    for i in 0..<c { for j in 0..<n { x.scalars[i * n + j] += 0.5 } }
    let y = matmul(kernel.reshaped([m, c]), x)
    var s = SecondMoments(dimension: m)
    s.addColumns(y.scalars, columns: n)
    var r = [Double](repeating: 0, count: c * c)
    for i in 0..<c {
      for k in 0..<c {
        var a = 0.0
        for j in 0..<n { a += Double(x.scalars[i * n + j]) * Double(x.scalars[k * n + j]) }
        r[i * c + k] = a / Double(n)
      }
    }
    return Layer(kernel: kernel, x: x, y: y, outputMoments: s, inputSecondMoment: r)
  }

  /// ‖y − ŷ‖² / ‖y − ȳ‖² over the samples, ŷ = Ŵ x + b.
  private func relativeSquaredError(_ l: Layer, _ approx: Tensor, bias: [Float]) -> Double {
    let (m, n) = (l.y.shape[0], l.y.shape[1])
    let z = matmul(approx.reshaped([m, approx.count / m]), l.x)
    let mean = l.outputMoments.mean
    var (d, t) = (0.0, 0.0)
    for i in 0..<m {
      for j in 0..<n {
        let e = Double(z.scalars[i * n + j] + bias[i] - l.y.scalars[i * n + j])
        let v = Double(l.y.scalars[i * n + j]) - mean[i]
        d += e * e
        t += v * v
      }
    }
    return d / t
  }

  /// With one tap and no ridge the stated error is the measured one, and it beats the weight
  /// fit (HOSVD/HOOI) at the same ranks on the responses.
  func testResponseFitStatesItsErrorAndBeatsTheWeightFit() throws {
    let l = layer(seed: 31, m: 10, c: 12, n: 600)
    let ranks = (output: 5, input: 4)
    let (fit, stated) = try tucker2ResponseFit(
      l.kernel, outputCovariance: l.outputMoments.covariance, inputSecondMoment: l.inputSecondMoment, ranks: ranks, ridge: 0)
    XCTAssertEqual(fit.ranks.output, 5)
    XCTAssertEqual(fit.ranks.input, 4)
    XCTAssertEqual(fit.output.shape, [10, 5])
    XCTAssertEqual(fit.input.shape, [12, 4])
    let bias = responseBias(left: fit.output, bias: Array(repeating: 0, count: 10), mean: l.outputMoments.mean)
    let measured = relativeSquaredError(l, fit.reconstruct(), bias: bias)
    XCTAssert(stated > 0.01 && stated < 1, "\(stated)")
    XCTAssertEqual(measured.squareRoot(), stated, accuracy: 1e-3 + 1e-2 * stated)

    let weights = try tucker2(l.kernel, ranks: ranks).factors.reconstruct()
    let weightError = relativeSquaredError(l, weights, bias: Array(repeating: 0, count: 10))
    XCTAssertLessThan(measured, 0.8 * weightError, "responses \(measured) vs weights \(weightError)")
  }

  /// A ridge trades error on the calibration data for robustness: without one the fit is the
  /// best input projection for the data (given the output factor), so the ridged fit cannot do
  /// better there; its stated error cannot be lower either. At full ranks the layer is exact.
  func testRidgeCostsOnTheDataAndFullRanksAreExact() throws {
    let l = layer(seed: 32, m: 8, c: 10, n: 400)
    func fit(_ ridge: Double) throws -> (error: Double, stated: Double) {
      let (f, stated) = try tucker2ResponseFit(
        l.kernel, outputCovariance: l.outputMoments.covariance, inputSecondMoment: l.inputSecondMoment, ranks: (8, 3), ridge: ridge)
      let bias = responseBias(left: f.output, bias: Array(repeating: 0, count: 8), mean: l.outputMoments.mean)
      return (relativeSquaredError(l, f.reconstruct(), bias: bias), stated)
    }
    let (plain, ridged) = (try fit(0), try fit(0.1))
    XCTAssertGreaterThanOrEqual(ridged.error, plain.error * (1 - 1e-3))
    XCTAssertGreaterThanOrEqual(ridged.stated, plain.stated * (1 - 1e-6))
    XCTAssertGreaterThan(ridged.error, 0)

    let full = try tucker2ResponseFit(
      l.kernel, outputCovariance: l.outputMoments.covariance, inputSecondMoment: l.inputSecondMoment, ranks: (8, 10))
    let r = full.factors.reconstruct()
    for (a, b) in zip(r.scalars, l.kernel.scalars) { XCTAssertEqual(a, b, accuracy: 1e-3) }
  }

  func testNonFiniteMomentsAreRefused() {
    let l = layer(seed: 33, m: 4, c: 5, n: 50)
    var r = l.inputSecondMoment
    r[3] = .nan
    XCTAssertThrowsError(
      try tucker2ResponseFit(l.kernel, outputCovariance: l.outputMoments.covariance, inputSecondMoment: r, ranks: (2, 2)))
  }
}
