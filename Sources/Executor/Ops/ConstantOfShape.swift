/// ConstantOfShape: a tensor of the given shape filled with `value` (default FLOAT 0).
struct ConstantOfShape: Operator {
  let fill: TensorValue

  static func build(_ b: OpBuilder) throws -> Operator {
    let fill = try b.tensor("value") ?? TensorValue(shape: [1], floats: [0])
    guard fill.count == 1 else { throw b.invalid("value must hold one element, not \(fill.count)") }
    return ConstantOfShape(fill: fill)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let shape = try inputs.required(0).requireInts("shape")
    let count = try Axes.checkedCount(shape)
    return [fill.with(shape: shape, storage: try .filled(like: fill, count: count))]
  }
}
