import XCTest
@testable import TensorAlgebra

/// Standard normal draws by Box–Muller over `SplitMix64`, so every test tensor is reproducible.
struct NormalGenerator {
  var base: SplitMix64
  init(seed: UInt64) { base = SplitMix64(seed: seed) }
  mutating func uniform() -> Double { (Double(base.next() >> 11) + 0.5) / Double(1 << 53) }
  mutating func next() -> Float {
    let u1 = uniform()
    let u2 = uniform()
    return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
  }
  mutating func tensor(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in next() })
  }
}

extension Tensor {
  /// `core ×₀ U ×₁ V` with Gaussian parts: Tucker ranks (ro, ri) exactly.
  static func randomTucker2(shape: [Int], ranks: (Int, Int), using g: inout NormalGenerator) -> Tensor {
    let core = g.tensor([ranks.0, ranks.1] + shape.dropFirst(2))
    return core.modeProduct(g.tensor([shape[0], ranks.0]), mode: 0)
      .modeProduct(g.tensor([shape[1], ranks.1]), mode: 1)
  }

  /// Σ_r of outer products of Gaussian vectors: CP rank r.
  static func randomCP(shape: [Int], rank: Int, using g: inout NormalGenerator) -> Tensor {
    let factors = shape.map { g.tensor([$0, rank]) }
    return CPFactors(factors: factors).reconstruct()
  }

  /// A matrix `[m, n]` of rank r (Gaussian factors), reshaped to `shape`.
  static func randomLowRank(shape: [Int], rank: Int, using g: inout NormalGenerator) -> Tensor {
    let m = shape[0]
    let n = shape.dropFirst().reduce(1, *)
    return matmul(g.tensor([m, rank]), g.tensor([rank, n])).reshaped(shape)
  }

  /// This tensor plus Gaussian noise scaled to `level · ‖self‖F`.
  func addingNoise(_ level: Double, using g: inout NormalGenerator) -> Tensor {
    let noise = g.tensor(shape)
    let scale = Float(level * frobeniusNorm / max(noise.frobeniusNorm, .leastNonzeroMagnitude))
    return Tensor(shape: shape, scalars: zip(scalars, noise.scalars).map { $0 + scale * $1 })
  }
}

/// ‖a − b‖F / ‖b‖F in Double.
func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
  XCTAssertEqual(a.shape, b.shape)
  var d = 0.0, n = 0.0
  for (x, y) in zip(a.scalars, b.scalars) {
    d += (Double(x) - Double(y)) * (Double(x) - Double(y))
    n += Double(y) * Double(y)
  }
  return n == 0 ? d.squareRoot() : (d / n).squareRoot()
}

/// Asserts ‖a − b‖F / ‖b‖F < tolerance and prints the measured value with the tolerance.
func assertRelativeError(
  _ a: Tensor, _ b: Tensor, below tolerance: Double, _ label: String = "",
  file: StaticString = #filePath, line: UInt = #line
) {
  guard a.shape == b.shape else {
    XCTFail("\(label): shape \(a.shape) vs \(b.shape)", file: file, line: line)
    return
  }
  let e = relativeError(a, b)
  XCTAssert(
    e < tolerance, "\(label): relative error \(e) is not below the tolerance \(tolerance)",
    file: file, line: line)
}

/// Asserts the columns of `q` `[m, r]` are orthonormal: ‖QᵀQ − I‖max < tolerance.
func assertOrthonormalColumns(
  _ q: Tensor, tolerance: Float, _ label: String = "", file: StaticString = #filePath, line: UInt = #line
) {
  let qtq = matmul(q, q, transposeA: true)
  let r = q.shape[1]
  var worst: Float = 0
  for i in 0..<r { for j in 0..<r { worst = max(worst, abs(qtq.scalars[i * r + j] - (i == j ? 1 : 0))) } }
  XCTAssert(worst < tolerance, "\(label): ‖QᵀQ − I‖max = \(worst), tolerance \(tolerance)", file: file, line: line)
}
