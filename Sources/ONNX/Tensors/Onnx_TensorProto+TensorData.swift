import Foundation
internal import ONNXProto

extension Onnx_TensorProto {
  /// The tensor decoded into a `TensorData` (see there for how each type is widened).
  ///
  /// Reads `raw_data` (little-endian) when present, else the typed field the ONNX schema
  /// assigns to the type: `int32_data` for 8/16-bit integers and BOOL, `int64_data`,
  /// `uint64_data` for UINT32/UINT64, `float_data`, `double_data`.
  /// - Throws: `ONNXError.unsupportedDataType` for STRING, complex and 8/4-bit float types,
  ///   `.rawDataSize` / `.valueCount` when the data does not match the dims,
  ///   `.externalDataUnresolved`, `.invalidDims`.
  /// - Complexity: O(`elementCount`).
  func tensorData() throws -> TensorData {
    let unsupported = ONNXError.unsupportedDataType(tensor: name, dataType: DataType.onnxName(of: dataType))
    guard let type = TensorElementType(code: Int(dataType)) else { throw unsupported }
    let values: TensorData.Values
    switch type {
    case .float, .float16, .bfloat16, .double:
      values = .floats(try floatValues())
    case .int64, .int32:
      values = .integers(try int64Values())
    case .int8: values = .integers(try narrowIntegers(width: 1) { Int64(Int8(truncatingIfNeeded: $0)) })
    case .uint8: values = .integers(try narrowIntegers(width: 1) { Int64(UInt8(truncatingIfNeeded: $0)) })
    case .int16: values = .integers(try narrowIntegers(width: 2) { Int64(Int16(truncatingIfNeeded: $0)) })
    case .uint16: values = .integers(try narrowIntegers(width: 2) { Int64(UInt16(truncatingIfNeeded: $0)) })
    case .uint32: values = .integers(try unsignedWide(width: 4))
    case .uint64: values = .integers(try unsignedWide(width: 8))
    case .bool: values = .bools(try narrowIntegers(width: 1) { $0 != 0 })
    case .string, .complex64, .complex128: throw unsupported
    }
    return TensorData(name: name, elementType: type, shape: try checkedShape(), values: values)
  }

  private func checkedShape() throws -> [Int] {
    _ = try checkedElementCount()
    return shape
  }

  /// Types stored one per `int32_data` entry, or `width` bytes each in `raw_data`.
  private func narrowIntegers<V>(width: Int, _ convert: (UInt64) -> V) throws -> [V] {
    let count = try checkedElementCount()
    if hasDataLocation && dataLocation == .external { throw ONNXError.externalDataUnresolved(tensor: name) }
    if hasRawData { return try rawWords(count: count, width: width).map(convert) }
    guard int32Data.count == count else {
      throw ONNXError.valueCount(tensor: name, field: "int32_data", dims: shape, expected: count, actual: int32Data.count)
    }
    return int32Data.map { convert(UInt64(UInt32(bitPattern: $0))) }
  }

  /// UINT32 / UINT64: `uint64_data`, or `width` bytes each in `raw_data`.
  private func unsignedWide(width: Int) throws -> [Int64] {
    let count = try checkedElementCount()
    if hasDataLocation && dataLocation == .external { throw ONNXError.externalDataUnresolved(tensor: name) }
    if hasRawData { return try rawWords(count: count, width: width).map { Int64(bitPattern: $0) } }
    guard uint64Data.count == count else {
      throw ONNXError.valueCount(tensor: name, field: "uint64_data", dims: shape, expected: count, actual: uint64Data.count)
    }
    return uint64Data.map { Int64(bitPattern: $0) }
  }

  /// `count` little-endian unsigned words of `width` bytes from `raw_data`, after a size check.
  private func rawWords(count: Int, width: Int) throws -> [UInt64] {
    let data = rawData
    let (expected, overflow) = count.multipliedReportingOverflow(by: width)
    guard !overflow, data.count == expected else {
      throw ONNXError.rawDataSize(
        tensor: name, dataType: DataType.onnxName(of: dataType), dims: shape,
        expected: overflow ? Int.max : expected, actual: data.count)
    }
    return data.withUnsafeBytes { raw in
      (0..<count).map { i in
        var w: UInt64 = 0
        for b in 0..<width { w |= UInt64(raw[i * width + b]) << (8 * b) }
        return w
      }
    }
  }
}
