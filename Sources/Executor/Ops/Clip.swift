/// Clip(x, min, max): bounds from attributes before opset 11, from optional inputs after.
struct Clip: Operator {
  let minAttribute: Float?
  let maxAttribute: Float?

  static func build(_ b: OpBuilder) throws -> Operator {
    if b.opset < 11 {
      return Clip(minAttribute: try b.float("min", default: -.infinity), maxAttribute: try b.float("max", default: .infinity))
    }
    return Clip(minAttribute: nil, maxAttribute: nil)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let lo = inputs.optional(1), hi = inputs.optional(2)
    switch x.storage {
    case .floats(let v):
      let a = try minAttribute ?? lo?.scalarFloat("min") ?? -.infinity
      let b = try maxAttribute ?? hi?.scalarFloat("max") ?? .infinity
      return [x.with(shape: x.shape, storage: .floats(parallelMap(v, threads: context.threads) { $0.isNaN ? $0 : Swift.min(Swift.max($0, a), b) }))]
    case .integers(let v):
      let a = try lo.map { try $0.requireIntegers("min") }?.first ?? .min
      let b = try hi.map { try $0.requireIntegers("max") }?.first ?? .max
      return [x.with(shape: x.shape, storage: .integers(v.map { Swift.min(Swift.max($0, a), b) }))]
    case .bools:
      throw OpFailure("Clip does not take BOOL")
    }
  }
}
