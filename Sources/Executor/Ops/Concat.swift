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
    /// Floats are copied in fixed segments of at most `elementwisePiece` values, in parallel
    /// (copies: the same bits for any thread count).
    func joinFloats(_ arrays: [[Float]]) -> [Float] {
      let total = shape.reduce(1, *)
      if context.threads <= 1 || total < elementwiseParallelMinimum { return join(arrays) }
      var segments: [(part: Int, from: Int, to: Int, count: Int)] = []
      var at = 0
      for o in 0..<outer {
        for k in arrays.indices {
          var done = 0
          while done < blocks[k] {
            let count = min(elementwisePiece, blocks[k] - done)
            segments.append((k, o * blocks[k] + done, at + done, count))
            done += count
          }
          at += blocks[k]
        }
      }
      return [Float](unsafeUninitializedCapacity: total) { out, initialized in
        parallelFor(segments.count, threads: context.threads) { i in
          let s = segments[i]
          arrays[s.part].withUnsafeBufferPointer { src in
            (out.baseAddress! + s.to).update(from: src.baseAddress! + s.from, count: s.count)
          }
        }
        initialized = total
      }
    }
    let storage: TensorValue.Storage
    switch first.storage {
    case .floats: storage = .floats(joinFloats(try parts.map { try $0.requireFloats() }))
    case .integers: storage = .integers(join(try parts.map { try $0.requireIntegers() }))
    case .bools: storage = .bools(join(try parts.map { try $0.requireBools() }))
    }
    return [first.with(shape: shape, storage: storage)]
  }
}
