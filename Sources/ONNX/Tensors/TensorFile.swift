import Foundation
internal import ONNXProto

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

  /// Writes `data` as one serialized `TensorProto` (raw little-endian data): floating-point
  /// values as FLOAT, integers as INT64, booleans as BOOL, with the tensor's name.
  /// - Parameters:
  ///   - data: the tensor.
  ///   - path: the file to write (replaced atomically).
  /// - Throws: `TensorFileError.writeFailed` when the file cannot be written.
  public static func save(_ data: TensorData, to path: String) throws {
    var proto: Onnx_TensorProto
    switch data.values {
    case .floats(let v): proto = .makeFloats(v, shape: data.shape, name: data.name, dataType: .float)
    case .integers(let v): proto = .makeInt64s(v, shape: data.shape, name: data.name)
    case .bools(let v):
      proto = Onnx_TensorProto()
      proto.name = data.name
      proto.dims = data.shape.map { Int64($0) }
      proto.dataType = Int32(Onnx_TensorProto.DataType.bool.rawValue)
      proto.rawData = Data(v.map { $0 ? 1 : 0 })
    }
    do {
      try proto.serializedData().write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      throw TensorFileError.writeFailed(path: path, reason: error.localizedDescription)
    }
  }
}
