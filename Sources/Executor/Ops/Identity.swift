/// Identity, and Dropout at inference: the input unchanged, and Dropout's optional mask all true.
/// Dropout in training mode (a true `training_mode` input) is rejected at run time.
struct Identity: Operator {
  let isDropout: Bool

  static func build(_ b: OpBuilder) throws -> Operator {
    let dropout = b.node.opType == "Dropout"
    if dropout {
      _ = try b.float("ratio", default: 0.5)
      _ = try b.int("seed", default: 0)
      if b.opset < 7, try b.int("is_test", default: 0) == 0 { throw b.unsupported("is_test=0 (training)") }
    }
    return Identity(isDropout: dropout)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    guard isDropout else { return [x] }
    if let training = inputs.optional(2), try training.requireBools("training_mode").first == true {
      // Training with ratio 0 keeps everything; any other ratio draws a random mask.
      let ratio = try inputs.optional(1)?.scalarFloat("ratio") ?? 0.5
      guard ratio == 0 else { throw OpFailure("Dropout in training mode with ratio \(ratio) (a random mask)", limit: true) }
    }
    return [x, TensorValue(shape: x.shape, bools: [Bool](repeating: true, count: x.count))]
  }
}
