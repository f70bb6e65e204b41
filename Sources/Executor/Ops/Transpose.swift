/// Transpose: output axis i is input axis perm[i] (default: axes reversed).
struct Transpose: Operator {
  let perm: [Int]?

  static func build(_ b: OpBuilder) throws -> Operator { Transpose(perm: try b.ints("perm")) }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let r = x.shape.count
    let p = try (perm ?? Array((0..<r).reversed())).map { try Axes.normalize($0, rank: r) }
    guard p.count == r, Set(p).count == r else { throw OpFailure("perm \(perm ?? []) is not a permutation of \(r) axes") }
    let outShape = p.map { x.shape[$0] }
    if p == Array(0..<r) { return [x] }
    let strides = Axes.strides(x.shape)
    // Walk the output in order; each output axis steps the input by its source stride.
    let source = boxIndices(shape: outShape, start: [Int](repeating: 0, count: r), step: [Int](repeating: 1, count: r), counts: outShape)
    let outStrides = Axes.strides(outShape)
    let indices = source.map { flat -> Int in
      var rest = flat, offset = 0
      for d in 0..<r { offset += (rest / outStrides[d]) * strides[p[d]]; rest %= outStrides[d] }
      return offset
    }
    return [x.with(shape: outShape, storage: x.storage.picking(indices))]
  }
}
