internal import ONNXProto

extension Graph {
  /// Bytes of tensor data the initializers hold, by element type name ("FLOAT", "INT8", ...),
  /// counted from dims and element width (so external data counts too; sub-byte and string types
  /// are left out).
  public var initializerBytesByType: [String: Int] {
    var bytes: [String: Int] = [:]
    for t in initializerSlots.compactMap({ $0 }) {
      guard let type = Onnx_TensorProto.DataType(rawValue: Int(t.dataType)), let width = type.byteWidth else { continue }
      bytes[type.onnxName, default: 0] += t.elementCount * width
    }
    return bytes
  }
}
