/// Sum, Mean, Max, Min of one or more tensors, broadcast together (folded left to right).
struct Variadic: Operator {
  enum Kind: Sendable { case sum, mean, max, min }
  let kind: Kind

  static func build(_ b: OpBuilder) throws -> Operator {
    let kinds: [String: Kind] = ["Sum": .sum, "Mean": .mean, "Max": .max, "Min": .min]
    guard let kind = kinds[b.node.opType] else { throw b.unsupported("op \(b.node.opType)") }
    return Variadic(kind: kind)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let values = inputs.compactMap { $0 }
    guard var acc = values.first else { throw OpFailure("needs at least one input") }
    for next in values.dropFirst() {
      switch (acc.storage, next.storage) {
      case (.floats(let x), .floats(let y)):
        let f: (Float, Float) -> Float = switch kind {
        case .sum, .mean: { $0 + $1 }
        case .max: { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
        case .min: { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
        }
        if acc.shape == next.shape {
          acc = acc.with(shape: acc.shape, storage: .floats(parallelZip(x, y, threads: context.threads, f)))
        } else {
          let (v, s) = try Broadcast.apply(x, acc.shape, y, next.shape, f)
          acc = acc.with(shape: s, storage: .floats(v))
        }
      case (.integers(let x), .integers(let y)):
        let f: (Int64, Int64) -> Int64 = switch kind {
        case .sum, .mean: { $0 &+ $1 }
        case .max: { Swift.max($0, $1) }
        case .min: { Swift.min($0, $1) }
        }
        let (v, s) = try Broadcast.apply(x, acc.shape, y, next.shape, f)
        acc = acc.with(shape: s, storage: .integers(v))
      default:
        throw OpFailure("inputs of types \(acc.elementType.name) and \(next.elementType.name) cannot be combined")
      }
    }
    if kind == .mean {
      let n = Float(values.count)
      acc = acc.with(shape: acc.shape, storage: .floats(try acc.requireFloats().map { $0 / n }))
    }
    return [acc]
  }
}
