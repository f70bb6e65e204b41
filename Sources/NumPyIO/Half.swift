/// IEEE 754 binary16 ↔ binary32 by bit manipulation: `Float16` is not available on every
/// platform Swift targets (Intel macOS), and .npy float16 data must read the same everywhere.
enum Half {
  /// The float value of the half-precision bits `h` (exact: every half is a float).
  static func float(fromBits h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }  // inf, NaN
    if exponent == 0 {
      // Zero or subnormal: mantissa × 2^-24, exact in float.
      let magnitude = Float(mantissa) * 0x1p-24
      return sign == 0 ? magnitude : -magnitude
    }
    return Float(bitPattern: sign | (UInt32(exponent + 112) << 23) | (mantissa << 13))
  }
}
