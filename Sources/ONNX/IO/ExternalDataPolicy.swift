/// Where `ModelIO.writeModel` puts tensor data.
public enum ExternalDataPolicy: Sendable, Equatable {
  /// Everything inline, unless the serialized model would reach protobuf's 2 GiB limit; then
  /// every tensor of at least 1 KiB of `raw_data` goes to the side file (onnx's own default threshold).
  case automatic
  /// Every tensor with at least `thresholdBytes` (and at least 1) bytes of `raw_data` goes to the
  /// side file, whatever the model's size.
  case always(thresholdBytes: Int)

  /// The threshold `.automatic` uses once a model is too large to be written inline.
  public static let automaticThresholdBytes = 1024
  /// Protobuf's hard limit on a serialized message: 2 GiB − 1 bytes.
  public static let protobufLimitBytes = Int(Int32.max)
}
