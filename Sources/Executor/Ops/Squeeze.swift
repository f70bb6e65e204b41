/// Squeeze and Unsqueeze: axes from the attribute before opset 13, from the second input after.
struct Squeeze: Operator {
  let unsqueeze: Bool
  let axesAttribute: [Int]?

  static func build(_ b: OpBuilder) throws -> Operator {
    Squeeze(unsqueeze: b.node.opType == "Unsqueeze", axesAttribute: b.opset < 13 ? try b.ints("axes") : nil)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let axes = try axesAttribute ?? inputs.optional(1)?.requireInts("axes")
    if unsqueeze {
      guard let axes else { throw OpFailure("Unsqueeze needs axes") }
      let r = x.shape.count + axes.count
      let normalized = try Set(axes.map { try Axes.normalize($0, rank: r) })
      guard normalized.count == axes.count else { throw OpFailure("axes \(axes) repeat an axis") }
      var shape: [Int] = []
      var it = x.shape.makeIterator()
      for i in 0..<r { shape.append(normalized.contains(i) ? 1 : it.next()!) }
      return [x.reshaped(shape)]
    }
    let r = x.shape.count
    let drop: Set<Int>
    if let axes {
      drop = try Set(axes.map { try Axes.normalize($0, rank: r) })
      for a in drop where x.shape[a] != 1 { throw OpFailure("cannot squeeze axis \(a) of size \(x.shape[a])") }
    } else {
      drop = Set(x.shape.indices.filter { x.shape[$0] == 1 })
    }
    return [x.reshaped(x.shape.indices.filter { !drop.contains($0) }.map { x.shape[$0] })]
  }
}
