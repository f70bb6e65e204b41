import ONNX
import Foundation

/// Elementwise ops of two tensors with numpy broadcasting: arithmetic (Add, Sub, Mul, Div,
/// Pow, Mod, PRelu), comparisons (Equal, Greater, ...) and logic (And, Or, Xor).
struct Binary: Operator {
  enum Kind: Sendable { case add, sub, mul, div, pow, mod(fmod: Bool), prelu, equal, greater, less, greaterOrEqual, lessOrEqual, and, or, xor }
  let kind: Kind
  /// Before opset 7: `broadcast=1` aligns B with A starting at `axis` (nil: at the end, as numpy).
  var legacyBroadcastAxis: Int?? = nil
  /// Before opset 7, PRelu's 1-D slope of size C applies along axis 1.
  var legacyChannelSlope = false

  static let opTypes: [String: Kind] = [
    "Add": .add, "Sub": .sub, "Mul": .mul, "Div": .div, "Pow": .pow, "PRelu": .prelu,
    "Equal": .equal, "Greater": .greater, "Less": .less, "GreaterOrEqual": .greaterOrEqual,
    "LessOrEqual": .lessOrEqual, "And": .and, "Or": .or, "Xor": .xor, "Mod": .mod(fmod: false),
  ]

  static func build(_ b: OpBuilder) throws -> Operator {
    guard var kind = opTypes[b.node.opType] else { throw b.unsupported("op \(b.node.opType)") }
    if case .mod = kind { kind = .mod(fmod: try b.int("fmod", default: 0) != 0) }
    var op = Binary(kind: kind)
    if b.opset < 7 {
      if try b.int("broadcast", default: 0) != 0 {
        op.legacyBroadcastAxis = .some(b.has("axis") ? try b.int("axis", default: 0) : nil)
      }
      op.legacyChannelSlope = b.node.opType == "PRelu"
    }
    return op
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let a = try inputs.required(0)
    var b = try inputs.required(1)
    if case .some(.some(let axis)) = legacyBroadcastAxis {
      // B's axes sit at A's axes axis…; pad B with trailing 1s so numpy rules apply.
      let start = axis < 0 ? axis + a.shape.count : axis
      let trailing = a.shape.count - start - b.shape.count
      guard start >= 0, trailing >= 0 else { throw OpFailure("B \(b.shape) does not fit A \(a.shape) at axis \(axis)") }
      b = b.reshaped(b.shape + [Int](repeating: 1, count: trailing))
    }
    if legacyChannelSlope, b.shape.count == 1, a.shape.count > 2, b.count == a.shape[1], b.count > 1 {
      b = b.reshaped([b.count] + [Int](repeating: 1, count: a.shape.count - 2))
    }
    switch kind {
    case .pow: return [try power(a, b)]
    case .equal, .greater, .less, .greaterOrEqual, .lessOrEqual: return [try compare(a, b)]
    case .and, .or, .xor:
      let x = try a.requireBools("input 0"), y = try b.requireBools("input 1")
      let f: (Bool, Bool) -> Bool = switch kind { case .and: { $0 && $1 } case .or: { $0 || $1 } default: { $0 != $1 } }
      let (v, s) = try Broadcast.apply(x, a.shape, y, b.shape, f)
      return [TensorValue(shape: s, bools: v)]
    default: break
    }
    switch (a.storage, b.storage) {
    case (.floats(let x), .floats(let y)):
      let arithmetic: FloatArithmetic.Operation? = switch kind {
      case .add: .add
      case .sub: .sub
      case .mul: .mul
      case .div: .div
      default: nil
      }
      if let arithmetic {
        let (v, s) = try FloatArithmetic.apply(arithmetic, x, a.shape, y, b.shape, threads: context.threads)
        return [a.with(shape: s, storage: .floats(v))]
      }
      let f: (Float, Float) -> Float
      switch kind {
      case .add: f = { $0 + $1 }
      case .sub: f = { $0 - $1 }
      case .mul: f = { $0 * $1 }
      case .div: f = { $0 / $1 }
      case .prelu: f = { $0 < 0 ? $0 * $1 : $0 }
      case .mod(let fmod):
        guard fmod else { throw OpFailure("Mod on floating-point inputs needs fmod=1") }
        f = { fmodf($0, $1) }
      default: throw OpFailure("unreachable binary kind")
      }
      if a.shape == b.shape { return [a.with(shape: a.shape, storage: .floats(parallelZip(x, y, threads: context.threads, f)))] }
      let (v, s) = try Broadcast.apply(x, a.shape, y, b.shape, f)
      return [a.with(shape: s, storage: .floats(v))]
    case (.integers(let x), .integers(let y)):
      if case .div = kind, y.contains(0) { throw OpFailure("integer division by zero") }
      if case .mod = kind, y.contains(0) { throw OpFailure("integer modulo by zero") }
      let f: (Int64, Int64) -> Int64
      switch kind {
      case .add: f = { $0 &+ $1 }
      case .sub: f = { $0 &- $1 }
      case .mul: f = { $0 &* $1 }
      case .div: f = { $0 == .min && $1 == -1 ? .min : $0 / $1 }
      case .prelu: f = { $0 < 0 ? $0 &* $1 : $0 }
      case .mod(let fmod):
        // fmod=0: the sign of the divisor (Python's %); fmod=1: the sign of the dividend (C).
        f = fmod ? Self.truncatedRemainder : Self.flooredRemainder
      default: throw OpFailure("unreachable binary kind")
      }
      if y.count == 1, case let s = try Broadcast.shape(a.shape, b.shape), s.reduce(1, *) == x.count,
        let v = integerByScalar(x, y[0])
      {
        return [a.with(shape: s, storage: .integers(wrap(v, to: a.elementType)))]
      }
      let (v, s) = try Broadcast.apply(x, a.shape, y, b.shape, f)
      return [a.with(shape: s, storage: .integers(wrap(v, to: a.elementType)))]
    default:
      throw OpFailure("inputs have types \(a.elementType.name) and \(b.elementType.name), which this op does not combine")
    }
  }

  /// `x ∘ y` for the kinds constant folding runs on index tensors (a reconstructed kernel's
  /// shuffle: Mul, Add, Mod by scalars on every entry), written out so that the loop is not a
  /// closure call per element; nil for the other kinds. The same values as `Broadcast.apply`.
  private func integerByScalar(_ x: [Int64], _ y: Int64) -> [Int64]? {
    switch kind {
    case .add: return x.map { $0 &+ y }
    case .sub: return x.map { $0 &- y }
    case .mul: return x.map { $0 &* y }
    case .mod(let fmod):
      if 0 < y && y <= Self.fastDivisorLimit {
        // Dividend and divisor below 2³²: the remainder by a precomputed reciprocal (Lemire's
        // fastmod, exact there), not a 64-bit division per entry — the reconstructed layout's
        // index subgraphs fold ~55 million of them at 8,000 convs. Both remainders are the plain
        // one for a non-negative dividend and a positive divisor.
        let d = UInt64(y), m = UInt64.max / d &+ 1
        return x.map { v in
          0 <= v && v <= Self.fastDivisorLimit
            ? Int64((m &* UInt64(v)).multipliedFullWidth(by: d).high)
            : fmod ? Self.truncatedRemainder(v, y) : Self.flooredRemainder(v, y)
        }
      }
      return fmod ? x.map { Self.truncatedRemainder($0, y) } : x.map { Self.flooredRemainder($0, y) }
    default: return nil
    }
  }

  /// Remainders with a dividend and a positive divisor up to this take the reciprocal path.
  static let fastDivisorLimit = Int64(UInt32.max)

  /// C's remainder: the sign of the dividend.
  private static func truncatedRemainder(_ x: Int64, _ y: Int64) -> Int64 {
    x == .min && y == -1 ? 0 : x % y
  }

  /// Python's remainder: the sign of the divisor.
  private static func flooredRemainder(_ x: Int64, _ y: Int64) -> Int64 {
    let r = truncatedRemainder(x, y)
    return r != 0 && (r < 0) != (y < 0) ? r + y : r
  }

  /// Pow: the result has the base's type; the exponent may be float or integer.
  private func power(_ a: TensorValue, _ b: TensorValue) throws -> TensorValue {
    switch (a.storage, b.storage) {
    case (.floats(let x), .floats(let y)):
      let (v, s) = try Broadcast.apply(x, a.shape, y, b.shape) { powf($0, $1) }
      return a.with(shape: s, storage: .floats(v))
    case (.floats(let x), .integers(let y)):
      let (v, s) = try Broadcast.apply(x, a.shape, y, b.shape) { Float(pow(Double($0), Double($1))) }
      return a.with(shape: s, storage: .floats(v))
    case (.integers(let x), .integers(let y)):
      let (v, s) = try Broadcast.apply(x, a.shape, y, b.shape) { saturatingInt64(pow(Double($0), Double($1))) }
      return a.with(shape: s, storage: .integers(v))
    case (.integers(let x), .floats(let y)):
      let (v, s) = try Broadcast.apply(x, a.shape, y, b.shape) { saturatingInt64(pow(Double($0), Double($1))) }
      return a.with(shape: s, storage: .integers(v))
    default:
      throw OpFailure("Pow does not take \(a.elementType.name) and \(b.elementType.name)")
    }
  }

  private func compare(_ a: TensorValue, _ b: TensorValue) throws -> TensorValue {
    func table<T: Comparable>() -> (T, T) -> Bool {
      switch kind {
      case .equal: { $0 == $1 }
      case .greater: { $0 > $1 }
      case .less: { $0 < $1 }
      case .greaterOrEqual: { $0 >= $1 }
      default: { $0 <= $1 }
      }
    }
    let (v, s): ([Bool], [Int])
    switch (a.storage, b.storage) {
    case (.floats(let x), .floats(let y)): (v, s) = try Broadcast.apply(x, a.shape, y, b.shape, table())
    case (.integers(let x), .integers(let y)): (v, s) = try Broadcast.apply(x, a.shape, y, b.shape, table())
    case (.bools(let x), .bools(let y)):
      guard case .equal = kind else { throw OpFailure("only Equal compares BOOL inputs") }
      (v, s) = try Broadcast.apply(x, a.shape, y, b.shape) { $0 == $1 }
    default: throw OpFailure("cannot compare \(a.elementType.name) with \(b.elementType.name)")
    }
    return TensorValue(shape: s, bools: v)
  }
}

/// Integer results wrapped to the width of `type` (int8 arithmetic overflows like int8).
func wrap(_ v: [Int64], to type: TensorElementType) -> [Int64] {
  switch type {
  case .int8: v.map { Int64(Int8(truncatingIfNeeded: $0)) }
  case .uint8: v.map { Int64(UInt8(truncatingIfNeeded: $0)) }
  case .int16: v.map { Int64(Int16(truncatingIfNeeded: $0)) }
  case .uint16: v.map { Int64(UInt16(truncatingIfNeeded: $0)) }
  case .int32: v.map { Int64(Int32(truncatingIfNeeded: $0)) }
  case .uint32: v.map { Int64(UInt32(truncatingIfNeeded: $0)) }
  default: v
  }
}
