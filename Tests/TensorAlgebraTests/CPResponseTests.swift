import XCTest
@testable import TensorAlgebra

final class CPResponseTests: XCTestCase {
  /// Input patches `[D, n]` (D = C·k1·k2) of very unequal spread per entry, off-centre.
  private func patches(_ g: inout NormalGenerator, d: Int, n: Int) -> Tensor {
    var x = g.tensor([d, n])
    for i in 0..<d {
      let scale = Float(pow(0.7, Double(i % 9) + Double(i / 9)))
      for j in 0..<n { x.scalars[i * n + j] = x.scalars[i * n + j] * scale + 0.2 }
    }
    return x
  }

  /// E‖(W − Ŵ)(x − μ)‖² / E‖W(x − μ)‖² over the patches, directly.
  private func responseError(_ w: Tensor, _ approx: Tensor, _ x: Tensor) -> Double {
    let (m, n) = (w.shape[0], x.shape[1])
    let d = x.shape[0]
    let mean = (0..<d).map { i in (0..<n).reduce(0.0) { $0 + Double(x.scalars[i * n + $1]) } / Double(n) }
    var centred = x
    for i in 0..<d { for j in 0..<n { centred.scalars[i * n + j] -= Float(mean[i]) } }
    let y = matmul(w.reshaped([m, d]), centred), z = matmul(approx.reshaped([m, d]), centred)
    let err = zip(y.scalars, z.scalars).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
    let total = y.scalars.reduce(0.0) { $0 + Double($1) * Double($1) }
    return err / total
  }

  /// The refit keeps the input and spatial factors, beats the weight fit on the responses,
  /// states the error it reaches and restores the mean response through the bias.
  func testRefitBeatsTheWeightFitStatesItsErrorAndKeepsTheMean() throws {
    var g = NormalGenerator(seed: 41)
    let (m, c, k) = (6, 4, 3)
    let d = c * k * k
    let kernel = g.tensor([m, c, k, k])
    let x = patches(&g, d: d, n: 800)
    var moments = SecondMoments(dimension: d)
    moments.addColumns(x.scalars, columns: 800)
    let start = try cp(kernel, rank: 5).factors
    let bias = (0..<m).map { Float($0) * 0.1 }
    let fit = try cpResponseRefit(start, kernel: kernel, covariance: moments.covariance, mean: moments.mean, bias: bias)
    XCTAssertEqual(fit.factors.factors[1], start.factors[1])
    XCTAssertEqual(fit.factors.factors[2], start.factors[2])
    XCTAssertEqual(fit.factors.factors[3], start.factors[3])
    let refitted = responseError(kernel, fit.factors.reconstruct(), x)
    let weights = responseError(kernel, start.reconstruct(), x)
    XCTAssertLessThan(refitted, 0.8 * weights, "refit \(refitted) vs weight fit \(weights)")
    XCTAssertEqual(fit.responseError, refitted.squareRoot(), accuracy: 1e-3)
    // Ŵμ + b′ = Wμ + b
    let mu = Tensor(shape: [d, 1], scalars: moments.mean.map(Float.init))
    let exact = matmul(kernel.reshaped([m, d]), mu), approx = matmul(fit.factors.reconstruct().reshaped([m, d]), mu)
    for o in 0..<m { XCTAssertEqual(approx.scalars[o] + fit.bias[o], exact.scalars[o] + bias[o], accuracy: 1e-4) }
  }

  func testNonFiniteMomentsAreRefused() throws {
    var g = NormalGenerator(seed: 42)
    let kernel = g.tensor([3, 2, 3, 3])
    let start = try cp(kernel, rank: 2).factors
    var covariance = [Double](repeating: 0, count: 18 * 18)
    covariance[5] = .infinity
    XCTAssertThrowsError(
      try cpResponseRefit(start, kernel: kernel, covariance: covariance, mean: Array(repeating: 0, count: 18), bias: [0, 0, 0]))
  }
}
