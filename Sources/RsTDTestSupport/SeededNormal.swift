import Foundation
import TensorAlgebra

/// Standard normal draws by Box–Muller over `SplitMix64`: every test tensor is reproducible.
public struct SeededNormal {
  var base: SplitMix64

  public init(seed: UInt64) { base = SplitMix64(seed: seed) }

  /// A uniform draw in (0, 1).
  public mutating func uniform() -> Double { (Double(base.next() >> 11) + 0.5) / Double(1 << 53) }

  /// A standard normal draw.
  public mutating func next() -> Float {
    let u1 = uniform(), u2 = uniform()
    return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
  }

  /// A tensor of standard normal draws.
  public mutating func tensor(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in next() })
  }
}
