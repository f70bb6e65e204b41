import Foundation
package import ONNXProto

extension Onnx_TensorProto {
  /// The tensor's dims as `Int`s (an empty array for a scalar).
  package var shape: [Int] { dims.map { Int(truncatingIfNeeded: $0) } }

  /// The number of elements: the product of the dims (1 for a scalar), or 0 when the dims are
  /// negative or their product overflows (see `checkedElementCount()`).
  package var elementCount: Int { (try? checkedElementCount()) ?? 0 }

  /// The element type, or `nil` when `data_type` holds a value this schema does not know.
  package var elementType: Onnx_TensorProto.DataType? { DataType(rawValue: Int(dataType)) }

  /// The product of the dims (1 for a scalar).
  ///
  /// - Throws: `ONNXError.invalidDims` when a dim is negative or the product overflows.
  package func checkedElementCount() throws -> Int {
    var count = 1
    for dim in dims {
      guard dim >= 0, let d = Int(exactly: dim) else { throw ONNXError.invalidDims(tensor: name, dims: dims) }
      let (product, overflow) = count.multipliedReportingOverflow(by: d)
      if overflow { throw ONNXError.invalidDims(tensor: name, dims: dims) }
      count = product
    }
    return count
  }

  /// The values of a `FLOAT`, `FLOAT16`, `BFLOAT16` or `DOUBLE` tensor as `Float`s, in row-major
  /// order.
  ///
  /// Reads `raw_data` (little-endian) when present, else the typed field: `float_data`,
  /// `int32_data` (one fp16/bf16 bit pattern in the low 16 bits of each value) or `double_data`.
  /// `DOUBLE` values are rounded to the nearest `Float`.
  /// - Returns: `elementCount` values.
  /// - Throws: `ONNXError.unsupportedDataType` for other types, `.rawDataSize` or `.valueCount`
  ///   when the stored data does not match the dims, `.externalDataUnresolved` for data still in
  ///   an external file, `.invalidDims`.
  /// - Complexity: O(`elementCount`).
  package func floatValues() throws -> [Float] {
    let count = try checkedElementCount()
    guard let type = elementType else { throw unsupported() }
    try checkNotExternal()
    switch type {
    case .float:
      if hasRawData { return try rawValues(count: count, type: type, as: UInt32.self) { Float(bitPattern: $0) } }
      try checkTyped("float_data", floatData.count, count)
      return floatData
    case .double:
      if hasRawData { return try rawValues(count: count, type: type, as: UInt64.self) { Float(Double(bitPattern: $0)) } }
      try checkTyped("double_data", doubleData.count, count)
      return doubleData.map { Float($0) }
    case .float16:
      if hasRawData { return try rawValues(count: count, type: type, as: UInt16.self) { HalfPrecision.float(float16Bits: $0) } }
      try checkTyped("int32_data", int32Data.count, count)
      return int32Data.map { HalfPrecision.float(float16Bits: UInt16(truncatingIfNeeded: $0)) }
    case .bfloat16:
      if hasRawData { return try rawValues(count: count, type: type, as: UInt16.self) { HalfPrecision.float(bfloat16Bits: $0) } }
      try checkTyped("int32_data", int32Data.count, count)
      return int32Data.map { HalfPrecision.float(bfloat16Bits: UInt16(truncatingIfNeeded: $0)) }
    default:
      throw unsupported()
    }
  }

  /// The values of an `INT64` or `INT32` tensor as `Int64`s, in row-major order (for shapes,
  /// axes and indices).
  ///
  /// Reads `raw_data` (little-endian) when present, else `int64_data` or `int32_data`.
  /// - Returns: `elementCount` values.
  /// - Throws: `ONNXError.unsupportedDataType` for other types, `.rawDataSize` or `.valueCount`
  ///   when the stored data does not match the dims, `.externalDataUnresolved`, `.invalidDims`.
  /// - Complexity: O(`elementCount`).
  package func int64Values() throws -> [Int64] {
    let count = try checkedElementCount()
    guard let type = elementType else { throw unsupported() }
    try checkNotExternal()
    switch type {
    case .int64:
      if hasRawData { return try rawValues(count: count, type: type, as: UInt64.self) { Int64(bitPattern: $0) } }
      try checkTyped("int64_data", int64Data.count, count)
      return int64Data
    case .int32:
      if hasRawData { return try rawValues(count: count, type: type, as: UInt32.self) { Int64(Int32(bitPattern: $0)) } }
      try checkTyped("int32_data", int32Data.count, count)
      return int32Data.map { Int64($0) }
    default:
      throw unsupported()
    }
  }

  /// A tensor holding `values` in `raw_data`, encoded as `dataType` (little-endian).
  ///
  /// `FLOAT16` and `BFLOAT16` round to nearest, ties to even (see `HalfPrecision`); `DOUBLE`
  /// widens exactly.
  /// - Parameters:
  ///   - values: row-major values; their count must equal the product of `shape`.
  ///   - shape: the dims (empty for a scalar).
  ///   - name: the tensor's name.
  ///   - dataType: `.float`, `.float16`, `.bfloat16` or `.double`; anything else is a programming error.
  /// - Returns: the tensor.
  /// - Complexity: O(`values.count`).
  package static func makeFloats(
    _ values: [Float], shape: [Int], name: String, dataType: Onnx_TensorProto.DataType
  ) -> Onnx_TensorProto {
    precondition(values.count == shape.reduce(1, *), "makeFloats: \(values.count) values for shape \(shape)")
    var tensor = Onnx_TensorProto()
    tensor.name = name
    tensor.dims = shape.map { Int64($0) }
    tensor.dataType = Int32(dataType.rawValue)
    switch dataType {
    case .float: tensor.rawData = littleEndianData(values.map { $0.bitPattern })
    case .double: tensor.rawData = littleEndianData(values.map { Double($0).bitPattern })
    case .float16: tensor.rawData = littleEndianData(values.map(HalfPrecision.float16Bits))
    case .bfloat16: tensor.rawData = littleEndianData(values.map(HalfPrecision.bfloat16Bits))
    default: preconditionFailure("makeFloats: data type \(dataType.onnxName) is not a float type")
    }
    return tensor
  }

  /// An `INT64` tensor holding `values` in `raw_data` (little-endian).
  /// - Parameters:
  ///   - values: row-major values; their count must equal the product of `shape`.
  ///   - shape: the dims (empty for a scalar).
  ///   - name: the tensor's name.
  /// - Returns: the tensor.
  package static func makeInt64s(_ values: [Int64], shape: [Int], name: String) -> Onnx_TensorProto {
    precondition(values.count == shape.reduce(1, *), "makeInt64s: \(values.count) values for shape \(shape)")
    return makeRaw(littleEndianData(values.map { UInt64(bitPattern: $0) }), type: .int64, shape: shape, name: name)
  }

  /// An INT8 tensor (raw_data, one byte per value): weights stored quantized.
  package static func makeInt8s(_ values: [Int8], shape: [Int], name: String) -> Onnx_TensorProto {
    precondition(values.count == shape.reduce(1, *), "makeInt8s: \(values.count) values for shape \(shape)")
    return makeRaw(Data(values.map { UInt8(bitPattern: $0) }), type: .int8, shape: shape, name: name)
  }

  /// A tensor of `type` whose values are the little-endian bytes `raw`.
  private static func makeRaw(_ raw: Data, type: DataType, shape: [Int], name: String) -> Onnx_TensorProto {
    var tensor = Onnx_TensorProto()
    tensor.name = name
    tensor.dims = shape.map { Int64($0) }
    tensor.dataType = Int32(type.rawValue)
    tensor.rawData = raw
    return tensor
  }

  // MARK: - Implementation

  private func unsupported() -> ONNXError {
    .unsupportedDataType(tensor: name, dataType: DataType.onnxName(of: dataType))
  }

  private func checkNotExternal() throws {
    if hasDataLocation && dataLocation == .external { throw ONNXError.externalDataUnresolved(tensor: name) }
  }

  private func checkTyped(_ field: String, _ actual: Int, _ expected: Int) throws {
    if actual != expected {
      throw ONNXError.valueCount(tensor: name, field: field, dims: shape, expected: expected, actual: actual)
    }
  }

  /// Decodes `count` little-endian words of type `Word` from `raw_data`, after checking its size.
  private func rawValues<Word: FixedWidthInteger, Value>(
    count: Int, type: DataType, as word: Word.Type, _ convert: (Word) -> Value
  ) throws -> [Value] {
    let width = MemoryLayout<Word>.size
    let data = rawData
    let (expected, overflow) = count.multipliedReportingOverflow(by: width)
    guard !overflow, data.count == expected else {
      throw ONNXError.rawDataSize(
        tensor: name, dataType: type.onnxName, dims: shape, expected: overflow ? Int.max : expected,
        actual: data.count)
    }
    #if _endian(little)
      // Same size and layout (Float/UInt32, Int64/UInt64): one copy, no per-element pass.
      if MemoryLayout<Value>.size == width && (Value.self == Float.self || Value.self == Int64.self) {
        return [Value](unsafeUninitializedCapacity: count) { buffer, initialized in
          data.withUnsafeBytes { source in UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source) }
          initialized = count
        }
      }
    #endif
    var words = [Word](repeating: 0, count: count)
    words.withUnsafeMutableBytes { destination in
      data.withUnsafeBytes { source in destination.copyMemory(from: source) }
    }
    return words.map { convert(Word(littleEndian: $0)) }
  }

  private static func littleEndianData<Word: FixedWidthInteger>(_ words: [Word]) -> Data {
    #if _endian(big)
      return words.map { $0.littleEndian }.withUnsafeBytes { Data($0) }
    #else
      return words.withUnsafeBytes { Data($0) }
    #endif
  }
}
