import ONNXProto

/// The element type of a tensor, as ONNX numbers them (TensorProto.DataType).
public enum DataType: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  case float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7, string = 8
  case bool = 9, float16 = 10, double = 11, uint32 = 12, uint64 = 13, complex64 = 14
  case complex128 = 15, bfloat16 = 16

  /// The ONNX name, e.g. "FLOAT16".
  public var description: String { String(describing: Onnx_TensorProto.DataType(rawValue: rawValue)!).uppercased() }

  /// The floating-point element type the rewriter reads and writes, nil for other types.
  public var floatingPoint: ElementType? { ElementType(Int32(rawValue)) }
}
