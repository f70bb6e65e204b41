package import ONNXProto

extension Onnx_TensorProto.DataType {
  /// The name ONNX uses for this data type (`FLOAT`, `FLOAT16`, `BFLOAT16`, …), as printed by
  /// onnx's `TensorProto.DataType.Name`.
  package var onnxName: String {
    switch self {
    case .undefined: return "UNDEFINED"
    case .float: return "FLOAT"
    case .uint8: return "UINT8"
    case .int8: return "INT8"
    case .uint16: return "UINT16"
    case .int16: return "INT16"
    case .int32: return "INT32"
    case .int64: return "INT64"
    case .string: return "STRING"
    case .bool: return "BOOL"
    case .float16: return "FLOAT16"
    case .double: return "DOUBLE"
    case .uint32: return "UINT32"
    case .uint64: return "UINT64"
    case .complex64: return "COMPLEX64"
    case .complex128: return "COMPLEX128"
    case .bfloat16: return "BFLOAT16"
    case .float8E4M3Fn: return "FLOAT8E4M3FN"
    case .float8E4M3Fnuz: return "FLOAT8E4M3FNUZ"
    case .float8E5M2: return "FLOAT8E5M2"
    case .float8E5M2Fnuz: return "FLOAT8E5M2FNUZ"
    case .uint4: return "UINT4"
    case .int4: return "INT4"
    case .float4E2M1: return "FLOAT4E2M1"
    }
  }

  /// Bytes per element in `raw_data`, or `nil` for types that are not a whole number of bytes
  /// per element (`STRING`, the 4-bit types, `UNDEFINED`).
  package var byteWidth: Int? {
    switch self {
    case .uint8, .int8, .bool, .float8E4M3Fn, .float8E4M3Fnuz, .float8E5M2, .float8E5M2Fnuz: return 1
    case .uint16, .int16, .float16, .bfloat16: return 2
    case .float, .int32, .uint32: return 4
    case .int64, .double, .uint64, .complex64: return 8
    case .complex128: return 16
    case .undefined, .string, .uint4, .int4, .float4E2M1: return nil
    }
  }

  /// The ONNX name of a raw `data_type` value; values this schema does not know print as
  /// `DATA_TYPE_<n>`.
  package static func onnxName(of rawValue: Int32) -> String {
    Onnx_TensorProto.DataType(rawValue: Int(rawValue))?.onnxName ?? "DATA_TYPE_\(rawValue)"
  }
}
