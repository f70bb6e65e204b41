internal import ONNXProto

extension Onnx_TensorProto {
  /// Bytes per element in `raw_data` (sub-byte types round up per pair: int4/uint4 pack two).
  private static func rawWidth(_ t: DataType) -> (numerator: Int, denominator: Int)? {
    switch t {
    case .float, .int32, .uint32: (4, 1)
    case .double, .int64, .uint64, .complex64: (8, 1)
    case .complex128: (16, 1)
    case .float16, .bfloat16, .int16, .uint16: (2, 1)
    case .int8, .uint8, .bool, .float8E4M3Fn, .float8E4M3Fnuz, .float8E5M2, .float8E5M2Fnuz: (1, 1)
    case .int4, .uint4: (1, 2)
    default: nil
    }
  }

  /// Checks, without decoding, that the tensor's type is a known ONNX type and that its stored
  /// data holds exactly the elements its dims declare (raw_data bytes, or the typed field's count).
  /// - Throws: `ONNXError.unsupportedDataType` for UNDEFINED or unknown types, `.invalidDims`,
  ///   `.rawDataSize` or `.valueCount` when the data disagrees with the dims.
  /// - Complexity: O(dims).
  func checkStorage() throws {
    let count = try checkedElementCount()
    guard let type = elementType, type != .undefined, let width = Onnx_TensorProto.rawWidth(type) ?? (type == .string ? (0, 1) : nil) else {
      throw ONNXError.unsupportedDataType(tensor: name, dataType: DataType.onnxName(of: dataType))
    }
    if hasDataLocation && dataLocation == .external { return }  // resolved (and checked) by the loader
    // onnx's checker allows one value field (raw_data counts when present, even empty).
    let fields = [
      ("raw_data", hasRawData), ("float_data", !floatData.isEmpty), ("int32_data", !int32Data.isEmpty),
      ("string_data", !stringData.isEmpty), ("int64_data", !int64Data.isEmpty), ("double_data", !doubleData.isEmpty),
      ("uint64_data", !uint64Data.isEmpty),
    ].filter(\.1).map(\.0)
    if fields.count > 1 { throw ONNXError.valueFields(tensor: name, fields: fields) }
    if type == .string {
      if stringData.count != count {
        throw ONNXError.valueCount(tensor: name, field: "string_data", dims: shape, expected: count, actual: stringData.count)
      }
      return
    }
    if hasRawData {
      let (bytes, overflow) = count.multipliedReportingOverflow(by: width.numerator)
      let expected = (bytes + width.denominator - 1) / width.denominator
      guard !overflow, rawData.count == expected else {
        throw ONNXError.rawDataSize(
          tensor: name, dataType: type.onnxName, dims: shape, expected: overflow ? Int.max : expected, actual: rawData.count)
      }
      return
    }
    let (field, stored): (String, Int)
    switch type {
    case .float: (field, stored) = ("float_data", floatData.count)
    case .double: (field, stored) = ("double_data", doubleData.count)
    case .int64: (field, stored) = ("int64_data", int64Data.count)
    case .uint32, .uint64: (field, stored) = ("uint64_data", uint64Data.count)
    case .complex64: (field, stored) = ("float_data", floatData.count / 2)
    case .complex128: (field, stored) = ("double_data", doubleData.count / 2)
    case .int4, .uint4:
      // Two 4-bit values per int32_data entry.
      (field, stored) = ("int32_data", int32Data.count == (count + 1) / 2 ? count : int32Data.count * 2)
    default: (field, stored) = ("int32_data", int32Data.count)
    }
    // A tensor with elements must store them somewhere; one with none must store none.
    if stored != count {
      throw ONNXError.valueCount(tensor: name, field: field, dims: shape, expected: count, actual: stored)
    }
  }
}
