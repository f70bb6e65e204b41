import XCTest

@testable import ONNX

/// Golden bit patterns for Float → FLOAT16/BFLOAT16 (IEEE 754 round to nearest, ties to even),
/// and exhaustive round trips of all 65536 16-bit patterns.
final class HalfPrecisionTests: XCTestCase {
  func testFloat16GoldenBitPatterns() {
    let cases: [(String, Float, UInt16)] = [
      ("one", 1.0, 0x3C00),
      ("minus two", -2.0, 0xC000),
      ("zero", 0.0, 0x0000),
      ("negative zero", -0.0, 0x8000),
      ("0.1 (nearest is 0x2E66)", 0.1, 0x2E66),
      ("largest finite", 65504, 0x7BFF),
      ("just below the overflow midpoint", 65519.996, 0x7BFF),
      ("overflow midpoint 65520 ties to even = infinity", 65520, 0x7C00),
      ("far beyond range", 1e6, 0x7C00),
      ("infinity", .infinity, 0x7C00),
      ("minus infinity", -.infinity, 0xFC00),
      ("smallest normal 2^-14", 0x1p-14, 0x0400),
      ("largest subnormal 1023·2^-24", 1023 * 0x1p-24, 0x03FF),
      ("smallest subnormal 2^-24", 0x1p-24, 0x0001),
      ("half the smallest subnormal ties to even = 0", 0x1p-25, 0x0000),
      ("just above half the smallest subnormal", Float(0x1p-25).nextUp, 0x0001),
      ("1.5·2^-24 ties to even = 2·2^-24", 3 * 0x1p-25, 0x0002),
      ("-2.5·2^-24 ties to even = -2·2^-24", -5 * 0x1p-25, 0x8002),
      ("subnormal rounding carries into the smallest normal", (1023.5 * 0x1p-24), 0x0400),
      ("Float subnormal underflows to 0", Float.leastNonzeroMagnitude, 0x0000),
      ("1 + 2^-11 ties to even = 1", 1 + 0x1p-11, 0x3C00),
      ("1 + 3·2^-11 ties to even = 1 + 2^-9", 1 + 3 * 0x1p-11, 0x3C02),
      ("just above 1 + 2^-11 rounds up", 1 + 0x1p-11 + 0x1p-20, 0x3C01),
      ("mantissa carry bumps the exponent", 2 - 0x1p-12, 0x4000),
    ]
    for (label, value, bits) in cases {
      XCTAssertEqual(HalfPrecision.float16Bits(value), bits, "\(label): \(value)")
    }
    XCTAssertTrue(HalfPrecision.float(float16Bits: HalfPrecision.float16Bits(.nan)).isNaN)
    XCTAssertEqual(HalfPrecision.float16Bits(.nan) & 0x7C00, 0x7C00)
    XCTAssertNotEqual(HalfPrecision.float16Bits(.nan) & 0x03FF, 0, "NaN must not become infinity")
    XCTAssertNotEqual(HalfPrecision.float16Bits(Float(bitPattern: 0x7F80_0001)) & 0x03FF, 0, "signalling NaN with a low payload")
  }

  func testFloat16DecodesGoldenPatterns() {
    XCTAssertEqual(HalfPrecision.float(float16Bits: 0x3C00), 1)
    XCTAssertEqual(HalfPrecision.float(float16Bits: 0x7BFF), 65504)
    XCTAssertEqual(HalfPrecision.float(float16Bits: 0x0001), 0x1p-24)
    XCTAssertEqual(HalfPrecision.float(float16Bits: 0x8001), -0x1p-24)
    XCTAssertEqual(HalfPrecision.float(float16Bits: 0x0400), 0x1p-14)
    XCTAssertEqual(HalfPrecision.float(float16Bits: 0xFC00), -.infinity)
    XCTAssertEqual(HalfPrecision.float(float16Bits: 0x8000).bitPattern, (-0.0 as Float).bitPattern)
    XCTAssertTrue(HalfPrecision.float(float16Bits: 0x7E00).isNaN)
  }

  func testEveryFloat16PatternRoundTrips() {
    for bits in UInt16.min...UInt16.max {
      let value = HalfPrecision.float(float16Bits: bits)
      if value.isNaN {
        XCTAssertTrue(HalfPrecision.float(float16Bits: HalfPrecision.float16Bits(value)).isNaN, "0x\(String(bits, radix: 16))")
      } else if HalfPrecision.float16Bits(value) != bits {
        XCTFail("0x\(String(bits, radix: 16)) → \(value) → 0x\(String(HalfPrecision.float16Bits(value), radix: 16))")
      }
    }
  }

  func testBFloat16GoldenBitPatterns() {
    let cases: [(String, Float, UInt16)] = [
      ("one", 1.0, 0x3F80),
      ("minus one", -1.0, 0xBF80),
      ("negative zero", -0.0, 0x8000),
      ("1 + 2^-8 ties to even = 1", 1 + 0x1p-8, 0x3F80),
      ("1 + 3·2^-8 ties to even = 1 + 2^-6", 1 + 3 * 0x1p-8, 0x3F82),
      ("just above 1 + 2^-8 rounds up", 1 + 0x1p-8 + 0x1p-20, 0x3F81),
      ("greatest Float rounds to infinity", .greatestFiniteMagnitude, 0x7F80),
      ("infinity", .infinity, 0x7F80),
      ("minus infinity", -.infinity, 0xFF80),
      ("subnormal kept", Float(bitPattern: 0x0001_0000), 0x0001),
      ("tiny subnormal ties to even = 0", Float(bitPattern: 0x0000_8000), 0x0000),
      ("pi", .pi, 0x4049),
    ]
    for (label, value, bits) in cases {
      XCTAssertEqual(HalfPrecision.bfloat16Bits(value), bits, "\(label): \(value)")
    }
    XCTAssertTrue(HalfPrecision.float(bfloat16Bits: HalfPrecision.bfloat16Bits(.nan)).isNaN)
    XCTAssertTrue(HalfPrecision.float(bfloat16Bits: HalfPrecision.bfloat16Bits(Float(bitPattern: 0x7F80_0001))).isNaN,
                  "a NaN whose payload is only in the low 16 bits must stay NaN")
  }

  func testEveryBFloat16PatternRoundTrips() {
    for bits in UInt16.min...UInt16.max {
      let value = HalfPrecision.float(bfloat16Bits: bits)
      XCTAssertEqual(value.bitPattern, UInt32(bits) << 16)
      if value.isNaN {
        XCTAssertTrue(HalfPrecision.float(bfloat16Bits: HalfPrecision.bfloat16Bits(value)).isNaN)
      } else if HalfPrecision.bfloat16Bits(value) != bits {
        XCTFail("0x\(String(bits, radix: 16)) → \(value) → 0x\(String(HalfPrecision.bfloat16Bits(value), radix: 16))")
      }
    }
  }
}
