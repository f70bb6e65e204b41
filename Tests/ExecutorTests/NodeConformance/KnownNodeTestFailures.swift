/// Tests of implemented ops that run but do not match, with the reason. Each entry is a
/// documented limit, never a tolerance tweak.
enum KnownNodeTestFailures {
  static let reasons: [String: String] = [
    "test_cast_BFLOAT16_to_FLOAT": bfloat16AsUInt16,
    "test_cast_FLOAT_to_BFLOAT16": bfloat16AsUInt16,
    "test_castlike_BFLOAT16_to_FLOAT_expanded": bfloat16AsUInt16,
    "test_castlike_FLOAT_to_BFLOAT16_expanded": bfloat16AsUInt16,
    "test_training_dropout": randomMask,
    "test_training_dropout_default": randomMask,
    "test_training_dropout_default_mask": randomMask,
    "test_training_dropout_mask": randomMask,
  ]

  static let bfloat16AsUInt16 =
    "onnx 1.12's data stores BFLOAT16 tensors as UINT16 bit patterns, which the executor reads as integers"
  static let randomMask = "training-mode Dropout draws a random mask (numpy's generator); the executor is inference-only"
}
