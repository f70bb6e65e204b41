internal import ONNXProto

/// Every element type an ONNX tensor can declare, numbered as in `onnx.proto`.
///
/// Unlike `ElementType` (the floating-point types the rewriter writes), this covers integers,
/// booleans and strings too, so runtimes and test readers can say exactly what they met.
public enum TensorElementType: Int, Sendable, Equatable, Hashable, CaseIterable {
  case float = 1
  case uint8 = 2
  case int8 = 3
  case uint16 = 4
  case int16 = 5
  case int32 = 6
  case int64 = 7
  case string = 8
  case bool = 9
  case float16 = 10
  case double = 11
  case uint32 = 12
  case uint64 = 13
  case complex64 = 14
  case complex128 = 15
  case bfloat16 = 16

  /// The type with ONNX number `code`, nil for 0 (undefined) and numbers this list lacks.
  public init?(code: Int) { self.init(rawValue: code) }

  /// The name ONNX prints, e.g. "FLOAT16".
  public var name: String {
    Onnx_TensorProto.DataType(rawValue: rawValue)?.onnxName ?? "type \(rawValue)"
  }

  /// FLOAT, FLOAT16, BFLOAT16 or DOUBLE.
  public var isFloatingPoint: Bool { self == .float || self == .float16 || self == .bfloat16 || self == .double }

  /// Any signed or unsigned integer type.
  public var isInteger: Bool {
    switch self {
    case .uint8, .int8, .uint16, .int16, .int32, .int64, .uint32, .uint64: true
    default: false
    }
  }
}
