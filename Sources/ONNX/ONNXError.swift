/// Everything that can go wrong while reading, writing or converting ONNX models and tensors.
///
/// Each `description` is one sentence that names the file or tensor at fault and, where there
/// are numbers, both of them (what was found and what was needed). Library code never maps
/// these to exit codes; the CLI does that in one place.
public enum ONNXError: Error, CustomStringConvertible, Equatable {
  /// No file exists at `path`.
  case fileNotFound(path: String)
  /// The file at `path` exists but holds 0 bytes.
  case emptyFile(path: String)
  /// The file at `path` exists but could not be opened or read (permissions, a folder, I/O error).
  case readFailed(path: String, reason: String)
  /// The file at `path` is not an ONNX model: random bytes, a truncated protobuf, or a valid
  /// protobuf that is not a `ModelProto` (no graph, no `ir_version`, no `opset_import`).
  case notAModel(path: String, reason: String)
  /// Tensor `tensor` keeps its data in the external file `path`, which does not exist.
  case externalDataMissing(tensor: String, path: String)
  /// Tensor `tensor` asks for `length` bytes at `offset` of the external file `path`, which only
  /// has `fileSize` bytes.
  case externalDataOutOfRange(tensor: String, path: String, offset: Int, length: Int, fileSize: Int)
  /// Tensor `tensor` has external-data entries that cannot be used (no `location`, a location
  /// outside the model's folder, an offset or length that is not a non-negative integer).
  case externalDataInvalid(tensor: String, reason: String)
  /// Tensor `tensor` still points at external data; only models loaded with
  /// `ModelIO.readModel(at:)` have their external data resolved.
  case externalDataUnresolved(tensor: String)
  /// Tensor `tensor` has `actual` bytes of `raw_data` where its data type and dims need `expected`.
  case rawDataSize(tensor: String, dataType: String, dims: [Int], expected: Int, actual: Int)
  /// Tensor `tensor` has `actual` values in its typed field `field` where its dims need `expected`.
  case valueCount(tensor: String, field: String, dims: [Int], expected: Int, actual: Int)
  /// Tensor `tensor` stores values in more than one field (`fields`); ONNX allows one.
  case valueFields(tensor: String, fields: [String])
  /// Tensor `tensor` has negative dims, or dims whose product overflows `Int`.
  case invalidDims(tensor: String, dims: [Int64])
  /// Tensor `tensor` has data type `dataType`, which the requested conversion does not handle.
  case unsupportedDataType(tensor: String, dataType: String)
  /// The folder `path` that should receive the output does not exist.
  case outputDirectoryMissing(path: String)
  /// The `role` path `path` (output, report) is the same file as `other` (`otherPath`), or would
  /// take its place; refused before any work.
  case pathsAlias(role: String, path: String, other: String, otherPath: String)
  /// Writing `path` would replace a file that the model `model`, read earlier by this process,
  /// keeps its external data in.
  case wouldOverwriteExternalData(path: String, model: String)
  /// Writing `path` failed; nothing was left behind.
  case writeFailed(path: String, reason: String)

  public var description: String {
    switch self {
    case .fileNotFound(let path):
      return "model file '\(path)' does not exist."
    case .emptyFile(let path):
      return "model file '\(path)' is empty (0 bytes)."
    case .readFailed(let path, let reason):
      return "cannot read '\(path)': \(reason)."
    case .notAModel(let path, let reason):
      return "'\(path)' is not an ONNX model: \(reason)."
    case .externalDataMissing(let tensor, let path):
      return "tensor '\(tensor)': external data file '\(path)' does not exist."
    case .externalDataOutOfRange(let tensor, let path, let offset, let length, let fileSize):
      // offset and length come from the file: their sum may not fit an Int.
      let end = offset >= 0 && length >= 0 ? String(UInt64(offset) + UInt64(length)) : "\(offset)+\(length)"
      return "tensor '\(tensor)': external data needs bytes \(offset)..<\(end) "
        + "(\(length) bytes at offset \(offset)) but '\(path)' has \(fileSize) bytes."
    case .externalDataInvalid(let tensor, let reason):
      return "tensor '\(tensor)': invalid external data, \(reason)."
    case .externalDataUnresolved(let tensor):
      return "tensor '\(tensor)': data is still in an external file; load the model with readModel to resolve it."
    case .rawDataSize(let tensor, let dataType, let dims, let expected, let actual):
      return "tensor '\(tensor)': raw_data has \(actual) bytes; \(dataType) dims \(Self.format(dims)) need \(expected)."
    case .valueFields(let tensor, let fields):
      return "tensor '\(tensor)' stores values in \(fields.joined(separator: " and ")); ONNX allows one field."
    case .valueCount(let tensor, let field, let dims, let expected, let actual):
      return "tensor '\(tensor)': \(field) has \(actual) values; dims \(Self.format(dims)) need \(expected)."
    case .invalidDims(let tensor, let dims):
      return "tensor '\(tensor)': dims \(Self.format(dims.map { Int(truncatingIfNeeded: $0) })) are negative or too large."
    case .unsupportedDataType(let tensor, let dataType):
      return "tensor '\(tensor)': data type \(dataType) is not supported by this conversion."
    case .outputDirectoryMissing(let path):
      return "output folder '\(path)' does not exist."
    case .pathsAlias(let role, let path, let other, let otherPath):
      return "the \(role) '\(path)' is \(other) '\(otherPath)'; choose another path."
    case .wouldOverwriteExternalData(let path, let model):
      return "refusing to write '\(path)': it holds the external data of the input model '\(model)'; choose another output name."
    case .writeFailed(let path, let reason):
      return "cannot write '\(path)': \(reason)."
    }
  }

  private static func format(_ dims: [Int]) -> String {
    "[" + dims.map(String.init).joined(separator: ",") + "]"
  }
}
