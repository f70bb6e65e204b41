import Foundation

/// Steele, Lea and Flood's SplitMix64 generator (2014), with the standard constants.
///
/// `next()`: `state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >> 30)) · 0xBF58476D1CE4E5B9;
/// z = (z ^ (z >> 27)) · 0x94D049BB133111EB; return z ^ (z >> 31)`, all modulo 2⁶⁴.
/// docs/shuffles.md gives a numpy reference.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
  /// The generator's state, advanced by the golden-ratio increment on every draw.
  public private(set) var state: UInt64

  /// Creates a generator whose first draw mixes `seed &+ 0x9E3779B97F4A7C15`.
  ///
  /// - Parameter seed: Any 64-bit value.
  public init(seed: UInt64) { state = seed }

  /// The next 64-bit output.
  ///
  /// - Complexity: O(1).
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

extension SplitMix64 {
  /// A standard-normal draw: Box–Muller's cosine branch on two uniforms in (0, 1] made from the
  /// top 53 bits of two draws, `u = ((next() >> 11) + 1) · 2⁻⁵³` and `v = (next() >> 11) · 2⁻⁵³`,
  /// giving `√(−2 ln u) · cos(2π v)`. The output check's synthetic inputs and `verify --random`
  /// share it, so the same seed gives the same inputs in both.
  public mutating func nextStandardNormal() -> Float {
    let u1 = Double((next() >> 11) + 1) * 0x1p-53
    let u2 = Double(next() >> 11) * 0x1p-53
    return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
  }
}
