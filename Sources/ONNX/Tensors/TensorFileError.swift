/// What can go wrong reading a serialized `TensorProto` file (such as ONNX's test data).
public enum TensorFileError: Error, CustomStringConvertible, Equatable {
  /// No regular file exists at `path`.
  case fileNotFound(path: String)
  /// The file at `path` could not be read.
  case readFailed(path: String, reason: String)
  /// The bytes at `path` do not decode as a `TensorProto`.
  case notATensor(path: String, reason: String)
  /// Writing `path` failed.
  case writeFailed(path: String, reason: String)

  public var description: String {
    switch self {
    case .fileNotFound(let path): "tensor file '\(path)' does not exist."
    case .readFailed(let path, let reason): "cannot read tensor file '\(path)': \(reason)."
    case .notATensor(let path, let reason): "'\(path)' is not a serialized ONNX TensorProto: \(reason)."
    case .writeFailed(let path, let reason): "cannot write tensor file '\(path)': \(reason)."
    }
  }
}
