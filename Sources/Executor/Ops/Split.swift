/// Split along `axis` into parts given by `split` (attribute before opset 13, input after),
/// else into equal parts (one per output, or `num_outputs` from opset 18; the last may be smaller).
struct Split: Operator {
  let axis: Int
  let splitAttribute: [Int]?
  let outputs: Int

  static func build(_ b: OpBuilder) throws -> Operator {
    try b.requireOpset(atLeast: 2)  // Split-1 could take the sizes as a second input
    let axis = try b.int("axis", default: 0)
    let split = b.opset < 13 ? try b.ints("split") : nil
    var outputs = b.node.outputs.count
    if b.opset >= 18, b.has("num_outputs") {
      outputs = try b.int("num_outputs", default: outputs)
      guard outputs == b.node.outputs.count else { throw b.invalid("num_outputs \(outputs) differs from the \(b.node.outputs.count) outputs") }
    }
    guard outputs >= 1 else { throw b.invalid("Split needs at least one output") }
    return Split(axis: axis, splitAttribute: split, outputs: outputs)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let r = x.shape.count
    let a = try Axes.normalize(axis, rank: r)
    let size = x.shape[a]
    var sizes: [Int]
    if let s = try splitAttribute ?? inputs.optional(1)?.requireInts("split") {
      sizes = s
    } else {
      let part = (size + outputs - 1) / outputs
      sizes = (0..<outputs).map { max(0, min(part, size - $0 * part)) }
    }
    guard sizes.reduce(0, +) == size, sizes.allSatisfy({ $0 >= 0 }) else {
      throw OpFailure("split sizes \(sizes) do not add up to axis size \(size)")
    }
    var results: [TensorValue] = []
    var begin = 0
    for s in sizes {
      var start = [Int](repeating: 0, count: r), counts = x.shape
      start[a] = begin
      counts[a] = s
      let idx = boxIndices(shape: x.shape, start: start, step: [Int](repeating: 1, count: r), counts: counts)
      results.append(x.with(shape: counts, storage: x.storage.picking(idx)))
      begin += s
    }
    return results
  }
}
