import ONNX

/// Cast to the element type `to`: float→integer truncates toward zero (out-of-range values
/// saturate), anything→BOOL is "not zero", FLOAT16/BFLOAT16 targets round to that precision.
/// STRING and complex targets are rejected at compile time.
struct Cast: Operator {
  let target: TensorElementType

  static func build(_ b: OpBuilder) throws -> Operator {
    let code = try b.int("to", default: 0)
    guard let t = TensorElementType(code: code) else { throw b.invalid("'to' = \(code) is not an ONNX element type") }
    guard t != .string, t != .complex64, t != .complex128 else { throw b.unsupported("cast to \(t.name)") }
    _ = try b.int("saturate", default: 1)  // only affects float8 targets, which are rejected above
    return Cast(target: t)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    return [TensorValue(elementType: target, shape: x.shape, storage: Self.convert(x.storage, to: target))]
  }

  static func convert(_ s: TensorValue.Storage, to target: TensorElementType) -> TensorValue.Storage {
    if target.isFloatingPoint {
      let f: [Float]
      switch s {
      case .floats(let v): f = v
      case .integers(let v): f = v.map { Float($0) }
      case .bools(let v): f = v.map { $0 ? 1 : 0 }
      }
      switch target {
      case .float16: return .floats(f.map { HalfPrecision.float(float16Bits: HalfPrecision.float16Bits($0)) })
      case .bfloat16: return .floats(f.map { HalfPrecision.float(bfloat16Bits: HalfPrecision.bfloat16Bits($0)) })
      default: return .floats(f)
      }
    }
    if target == .bool {
      switch s {
      case .floats(let v): return .bools(v.map { $0 != 0 })
      case .integers(let v): return .bools(v.map { $0 != 0 })
      case .bools: return s
      }
    }
    let i: [Int64]
    switch s {
    case .floats(let v):
      i = v.map { x in x.isNaN ? 0 : (x >= 9.2233720e18 ? .max : (x <= -9.2233720e18 ? .min : Int64(x))) }
    case .integers(let v): i = v
    case .bools(let v): i = v.map { $0 ? 1 : 0 }
    }
    return .integers(wrap(i, to: target))
  }
}
