import Foundation
import ONNXProto

/// Reads tensors stored one per file as a serialized `TensorProto` (the layout of ONNX's
/// backend test data: `test_data_set_0/input_0.pb`, `output_0.pb`, ...).
public enum TensorFile {
  /// Decodes the tensor stored at `path`.
  /// - Parameter path: a file holding one serialized `TensorProto`.
  /// - Returns: the decoded tensor.
  /// - Throws: `TensorFileError` when the file is missing, unreadable or not a tensor;
  ///   `ONNXError` when its data does not match its dims or its type is not supported.
  public static func load(path: String) throws -> TensorData {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
      throw TensorFileError.fileNotFound(path: path)
    }
    let bytes: Data
    do { bytes = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw TensorFileError.readFailed(path: path, reason: error.localizedDescription)
    }
    let proto: Onnx_TensorProto
    do { proto = try Onnx_TensorProto(serializedBytes: bytes) } catch {
      throw TensorFileError.notATensor(path: path, reason: "\(error)")
    }
    return try proto.tensorData()
  }
}
