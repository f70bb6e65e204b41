/// Expand: broadcast the input against the given shape (numpy rules; the result may be larger
/// than the shape asked for).
struct Expand: Operator {
  static func build(_ b: OpBuilder) throws -> Operator { Expand() }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let requested = try inputs.required(1).requireInts("shape")
    let shape = try Broadcast.shape(x.shape, requested)
    _ = try Axes.checkedCount(shape)
    return [x.with(shape: shape, storage: x.storage.expanded(from: x.shape, to: shape))]
  }
}
