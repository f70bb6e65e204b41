/// Bit-exact conversions between `Float` and the 16-bit float formats ONNX stores:
/// IEEE 754 binary16 (`FLOAT16`) and bfloat16 (`BFLOAT16`).
///
/// Float → 16 bits rounds to nearest, ties to even; values beyond the largest finite 16-bit value
/// become infinity; values below half the smallest subnormal become (signed) zero; NaN stays NaN
/// (quiet, payload truncated). 16 bits → Float is exact. Written out in integer arithmetic so the
/// result does not depend on the platform's `Float16` support.
public enum HalfPrecision {
  /// The binary16 bit pattern nearest to `value` (ties to even).
  /// The largest finite FLOAT16 value.
  public static let largestFinite: Float = 65504

  /// Whether `value` rounds to a finite FLOAT16 (magnitudes from 65520 up round to infinity).
  public static func fitsFloat16(_ value: Float) -> Bool { abs(value) < 65520 }

  public static func float16Bits(_ value: Float) -> UInt16 {
    let x = value.bitPattern
    let sign = UInt16(truncatingIfNeeded: (x >> 16) & 0x8000)
    let exponent = Int((x >> 23) & 0xFF)
    let mantissa = x & 0x7F_FFFF
    if exponent == 0xFF {
      if mantissa == 0 { return sign | 0x7C00 }
      return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
    }
    let halfExponent = exponent - 127 + 15
    if halfExponent >= 0x1F { return sign | 0x7C00 }
    if halfExponent <= 0 {
      // Subnormal (or zero) result: value = m × 2⁻²⁴ with m = significand >> (14 − e).
      if halfExponent < -10 { return sign }
      let significand = mantissa | 0x80_0000
      let shift = UInt32(14 - halfExponent)
      return sign | UInt16(truncatingIfNeeded: roundShift(significand, by: shift))
    }
    // Normal result; a carry out of the mantissa correctly bumps the exponent (up to infinity).
    let base = (UInt32(halfExponent) << 10) | (mantissa >> 13)
    let remainder = mantissa & 0x1FFF
    let rounded = base + roundUp(remainder: remainder, half: 0x1000, lsb: base & 1)
    return sign | UInt16(truncatingIfNeeded: rounded)
  }

  /// The `Float` whose value is the binary16 bit pattern `bits` (exact).
  public static func float(float16Bits bits: UInt16) -> Float {
    let sign = UInt32(bits & 0x8000) << 16
    let exponent = UInt32((bits >> 10) & 0x1F)
    let mantissa = UInt32(bits & 0x3FF)
    if exponent == 0 {
      let magnitude = Float(mantissa) * 0x1p-24
      return sign == 0 ? magnitude : -magnitude
    }
    if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
  }

  /// The bfloat16 bit pattern nearest to `value` (ties to even).
  public static func bfloat16Bits(_ value: Float) -> UInt16 {
    let x = value.bitPattern
    if value.isNaN { return UInt16(truncatingIfNeeded: x >> 16) | 0x0040 }
    let rounded = x &+ 0x7FFF &+ ((x >> 16) & 1)
    return UInt16(truncatingIfNeeded: rounded >> 16)
  }

  /// The `Float` whose value is the bfloat16 bit pattern `bits` (exact).
  public static func float(bfloat16Bits bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
  }

  private static func roundShift(_ value: UInt32, by shift: UInt32) -> UInt32 {
    let kept = value >> shift
    let remainder = value & ((1 << shift) - 1)
    return kept + roundUp(remainder: remainder, half: 1 << (shift - 1), lsb: kept & 1)
  }

  private static func roundUp(remainder: UInt32, half: UInt32, lsb: UInt32) -> UInt32 {
    (remainder > half || (remainder == half && lsb == 1)) ? 1 : 0
  }
}
