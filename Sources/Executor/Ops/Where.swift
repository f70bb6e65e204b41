/// Where(condition, X, Y): X where the condition holds, else Y, all three broadcast together.
struct Where: Operator {
  static func build(_ b: OpBuilder) throws -> Operator { Where() }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let c = try inputs.required(0), x = try inputs.required(1), y = try inputs.required(2)
    let cond = try c.requireBools("condition")
    guard x.storage.sameKind(as: y.storage) else { throw OpFailure("X and Y have types \(x.elementType.name) and \(y.elementType.name)") }
    let shape = try Broadcast.shape(Broadcast.shape(c.shape, x.shape), y.shape)
    let mask = Broadcast.expand(cond, c.shape, to: shape)
    func pick<T>(_ a: [T], _ b: [T]) -> [T] {
      let ea = Broadcast.expand(a, x.shape, to: shape), eb = Broadcast.expand(b, y.shape, to: shape)
      return mask.indices.map { mask[$0] ? ea[$0] : eb[$0] }
    }
    switch (x.storage, y.storage) {
    case (.floats(let a), .floats(let b)): return [x.with(shape: shape, storage: .floats(pick(a, b)))]
    case (.integers(let a), .integers(let b)): return [x.with(shape: shape, storage: .integers(pick(a, b)))]
    case (.bools(let a), .bools(let b)): return [x.with(shape: shape, storage: .bools(pick(a, b)))]
    default: throw OpFailure("X and Y have different types")
    }
  }
}
