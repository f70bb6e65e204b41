import Foundation

/// Elementwise functions of one tensor (Relu, Sigmoid, Exp, ...), with their attributes
/// (alpha, beta, ...) bound when the node is compiled.
struct Unary: Operator {
  let floatFunction: @Sendable (Float) -> Float
  /// nil when the op is defined on floating types only.
  let integerFunction: (@Sendable (Int64) -> Int64)?
  /// Relu gets a loop of its own: it follows most convs, and a call per element costs.
  var isRelu = false
  /// Not: the one op here on BOOL.
  var isNot = false

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    switch x.storage {
    case .floats(let v):
      if isRelu { return [x.with(shape: x.shape, storage: .floats(parallelMap(v, threads: context.threads) { $0 < 0 ? 0 : $0 }))] }
      return [x.with(shape: x.shape, storage: .floats(parallelMap(v, threads: context.threads, floatFunction)))]
    case .integers(let v):
      guard let integerFunction else { throw OpFailure("input has type \(x.elementType.name); a floating-point type is needed") }
      return [x.with(shape: x.shape, storage: .integers(v.map(integerFunction)))]
    case .bools(let v):
      guard isNot else { throw OpFailure("input has type BOOL, which this op does not take") }
      return [x.with(shape: x.shape, storage: .bools(v.map { !$0 }))]
    }
  }

  static func build(_ b: OpBuilder) throws -> Operator {
    switch b.node.opType {
    case "Not": return Unary(floatFunction: { $0 }, integerFunction: nil, isNot: true)
    case "Relu": return Unary(floatFunction: { $0 < 0 ? 0 : $0 }, integerFunction: { max($0, 0) }, isRelu: true)
    case "LeakyRelu":
      let alpha = try b.float("alpha", default: 0.01)
      return Unary(floatFunction: { $0 >= 0 ? $0 : alpha * $0 }, integerFunction: nil)
    case "Elu":
      let alpha = try b.float("alpha", default: 1)
      return Unary(floatFunction: { $0 >= 0 ? $0 : alpha * (expf($0) - 1) }, integerFunction: nil)
    case "Selu":
      let alpha = try b.float("alpha", default: 1.67326319217681884765625)
      let gamma = try b.float("gamma", default: 1.05070102214813232421875)
      return Unary(floatFunction: { $0 > 0 ? gamma * $0 : gamma * (alpha * expf($0) - alpha) }, integerFunction: nil)
    case "Sigmoid": return Unary(floatFunction: logistic, integerFunction: nil)
    case "HardSigmoid":
      let alpha = try b.float("alpha", default: 0.2), beta = try b.float("beta", default: 0.5)
      return Unary(floatFunction: { min(1, max(0, alpha * $0 + beta)) }, integerFunction: nil)
    case "HardSwish":
      return Unary(floatFunction: { $0 * min(1, max(0, $0 / 6 + 0.5)) }, integerFunction: nil)
    case "Tanh": return Unary(floatFunction: { tanhf($0) }, integerFunction: nil)
    case "Softplus": return Unary(floatFunction: { $0 > 0 ? $0 + log1pf(expf(-$0)) : log1pf(expf($0)) }, integerFunction: nil)
    case "Softsign": return Unary(floatFunction: { $0 / (1 + abs($0)) }, integerFunction: nil)
    case "Sqrt": return Unary(floatFunction: { $0.squareRoot() }, integerFunction: nil)
    case "Exp": return Unary(floatFunction: { expf($0) }, integerFunction: nil)
    case "Log": return Unary(floatFunction: { logf($0) }, integerFunction: nil)
    case "Erf": return Unary(floatFunction: { erff($0) }, integerFunction: nil)
    case "Floor": return Unary(floatFunction: { $0.rounded(.down) }, integerFunction: nil)
    case "Ceil": return Unary(floatFunction: { $0.rounded(.up) }, integerFunction: nil)
    case "Round": return Unary(floatFunction: { $0.rounded(.toNearestOrEven) }, integerFunction: nil)
    case "Reciprocal": return Unary(floatFunction: { 1 / $0 }, integerFunction: nil)
    case "Neg": return Unary(floatFunction: { -$0 }, integerFunction: { 0 &- $0 })
    case "Abs": return Unary(floatFunction: { abs($0) }, integerFunction: { $0 < 0 ? 0 &- $0 : $0 })
    case "Sign": return Unary(floatFunction: { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }, integerFunction: { $0.signum() })
    case "Sin": return Unary(floatFunction: { sinf($0) }, integerFunction: nil)
    case "ThresholdedRelu":
      let alpha = try b.float("alpha", default: 1)
      return Unary(floatFunction: { $0 > alpha ? $0 : 0 }, integerFunction: nil)
    case "Celu":
      let alpha = try b.float("alpha", default: 1)
      return Unary(floatFunction: { max(0, $0) + min(0, alpha * (expf($0 / alpha) - 1)) }, integerFunction: nil)
    case "Shrink":
      let lambd = try b.float("lambd", default: 0.5), bias = try b.float("bias", default: 0)
      return Unary(
        floatFunction: { $0 < -lambd ? $0 + bias : ($0 > lambd ? $0 - bias : 0) },
        integerFunction: { x in
          let v = Float(x)
          return v < -lambd ? saturatingInt64(Double(v + bias)) : (v > lambd ? saturatingInt64(Double(v - bias)) : 0)
        })
    case "Cos": return Unary(floatFunction: { cosf($0) }, integerFunction: nil)
    default: throw b.unsupported("op \(b.node.opType)")
    }
  }

  static let opTypes = [
    "Relu", "LeakyRelu", "Elu", "Selu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Softplus", "Softsign",
    "Sqrt", "Exp", "Log", "Erf", "Floor", "Ceil", "Round", "Reciprocal", "Neg", "Abs", "Sign", "Sin", "Cos",
    "ThresholdedRelu", "Celu", "Shrink", "Not",
  ]
}

/// 1 / (1 + e^-x), computed from the side that cannot overflow.
@Sendable func logistic(_ x: Float) -> Float {
  if x >= 0 { return 1 / (1 + expf(-x)) }
  let e = expf(x)
  return e / (1 + e)
}
