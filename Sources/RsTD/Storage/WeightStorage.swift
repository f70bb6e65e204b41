/// How the float weights of Conv/Gemm/MatMul sites are stored in the written model
/// (`--weights`). Anything but `.fp32` is rebuilt in-graph by ops onnxruntime folds at load
/// (docs/methods.md, "Weight storage").
public enum WeightStorage: String, CaseIterable, Sendable, Codable {
  /// As float32: no change (the default).
  case fp32
  /// As FLOAT16, rebuilt by `Cast(to=FLOAT)`.
  case fp16
  /// As INT8 with a symmetric per-channel float scale, rebuilt by `Cast(to=FLOAT) → Mul(scale)`.
  case int8

  /// Bytes per stored weight parameter (scales of int8 not counted).
  public var bytesPerParameter: Int {
    switch self {
    case .fp32: 4
    case .fp16: 2
    case .int8: 1
    }
  }

  /// The lowest default-domain opset whose ops rebuild this storage: `Cast` takes an integer `to`
  /// and INT8/FLOAT16 inputs from opset 6; `Mul` broadcasts a per-channel scale from opset 7.
  public var minimumOpset: Int {
    switch self {
    case .fp32: 1
    case .fp16: 6
    case .int8: 7
    }
  }
}
