internal import ONNXProto

/// The element types the rewriter reads and writes as floating point.
public enum ElementType: String, Sendable, Equatable, Codable {
  case float = "FLOAT"
  case float16 = "FLOAT16"
  case bfloat16 = "BFLOAT16"
  case double = "DOUBLE"

  init?(_ dataType: Int32) {
    switch Onnx_TensorProto.DataType(rawValue: Int(dataType)) {
    case .float?: self = .float
    case .float16?: self = .float16
    case .bfloat16?: self = .bfloat16
    case .double?: self = .double
    default: return nil
    }
  }

  var dataType: Onnx_TensorProto.DataType {
    switch self {
    case .float: .float
    case .float16: .float16
    case .bfloat16: .bfloat16
    case .double: .double
    }
  }
}

/// Human-readable name of an ONNX data type number, e.g. 7 → "INT64".
func dataTypeName(_ dataType: Int32) -> String {
  if let t = Onnx_TensorProto.DataType(rawValue: Int(dataType)) {
    return String(describing: t).uppercased()
  }
  return "type \(dataType)"
}
