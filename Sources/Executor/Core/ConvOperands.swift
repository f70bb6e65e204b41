/// What Conv and ConvTranspose read alike: the `group` attribute, and float X and W of the same
/// rank (at least 3) with an optional float B.
struct ConvOperands {
  let xv: TensorValue, wv: TensorValue
  let x: [Float], w: [Float], bias: [Float]?

  init(_ inputs: [TensorValue?]) throws {
    xv = try inputs.required(0)
    wv = try inputs.required(1)
    x = try xv.requireFloats("X")
    w = try wv.requireFloats("W")
    bias = try inputs.optional(2)?.requireFloats("B")
    guard xv.shape.count >= 3, wv.shape.count == xv.shape.count else {
      throw OpFailure("X \(xv.shape) and W \(wv.shape) must have the same rank, at least 3")
    }
  }

  /// The `group` attribute, 1 to `SpatialAttributes.maxValue` (sizes computed from it stay in range).
  static func group(_ b: OpBuilder) throws -> Int {
    let group = try b.int("group", default: 1)
    guard group >= 1 else { throw b.invalid("group \(group) must be positive") }
    guard group <= SpatialAttributes.maxValue else { throw b.unsupported("group \(group) above \(SpatialAttributes.maxValue)") }
    return group
  }
}
