/// Flatten: [d0 … d(axis-1), d(axis) … dn] → [product before axis, product from axis].
struct Flatten: Operator {
  let axis: Int

  static func build(_ b: OpBuilder) throws -> Operator { Flatten(axis: try b.int("axis", default: 1)) }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let r = x.shape.count
    let a = axis < 0 ? axis + r : axis
    guard a >= 0 && a <= r else { throw OpFailure("axis \(axis) is out of range for rank \(r)") }
    return [x.reshaped([Axes.product(x.shape, 0..<a), Axes.product(x.shape, a..<r)])]
  }
}
