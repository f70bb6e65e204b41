/// Concat along `axis`.
struct Concat: Operator {
  let axis: Int

  static func build(_ b: OpBuilder) throws -> Operator {
    guard b.has("axis") || b.opset < 4 else { throw b.invalid("attribute 'axis' is required") }
    return Concat(axis: try b.int("axis", default: 1))
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let parts = inputs.compactMap { $0 }
    guard let first = parts.first else { throw OpFailure("needs at least one input") }
    let r = first.shape.count
    let a = try Axes.normalize(axis, rank: r)
    var shape = first.shape
    shape[a] = 0
    for p in parts {
      guard p.shape.count == r, (0..<r).allSatisfy({ $0 == a || p.shape[$0] == first.shape[$0] }) else {
        throw OpFailure("input shapes \(parts.map(\.shape)) differ outside axis \(a)")
      }
      shape[a] += p.shape[a]
    }
    let outer = Axes.product(first.shape, 0..<a)
    let blocks = parts.map { Axes.product($0.shape, a..<r) }
    // Per outer index, each input contributes one contiguous block of axis·inner values.
    func join<T>(_ arrays: [[T]]) -> [T] {
      var out = [T]()
      out.reserveCapacity(shape.reduce(1, *))
      for o in 0..<outer {
        for (k, v) in arrays.enumerated() { out.append(contentsOf: v[(o * blocks[k])..<((o + 1) * blocks[k])]) }
      }
      return out
    }
    let storage: TensorValue.Storage
    switch first.storage {
    case .floats: storage = .floats(join(try parts.map { try $0.requireFloats() }))
    case .integers: storage = .integers(join(try parts.map { try $0.requireIntegers() }))
    case .bools: storage = .bools(join(try parts.map { try $0.requireBools() }))
    }
    return [first.with(shape: shape, storage: storage)]
  }
}
