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
    let indices = Self.sources(counts: outShape, strides: p.map { strides[$0] })
    return [x.with(shape: outShape, storage: x.storage.picking(indices))]
  }

  /// The input offset of each output position, in output order: an odometer over `counts`
  /// where axis d advances the offset by `strides[d]` (no division per element: constant
  /// folding transposes many index tensors, e.g. a reconstructed kernel's shuffle).
  static func sources(counts: [Int], strides: [Int]) -> [Int] {
    let total = counts.reduce(1, *)
    let r = counts.count
    if total == 0 { return [] }
    if r == 0 { return [0] }
    var result = [Int](repeating: 0, count: total)
    let inner = counts[r - 1], innerStride = strides[r - 1]
    var o = 0
    result.withUnsafeMutableBufferPointer { out in
      Axes.forEachRun(counts: counts, strides: strides) { start in
        var q = start
        for _ in 0..<inner { out[o] = q; o += 1; q += innerStride }
      }
    }
    return result
  }
}
