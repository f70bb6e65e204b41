import Foundation
import ONNXProto
import XCTest

@testable import ONNX

/// `Onnx_TensorProto` ↔ arrays for every supported type, in raw_data and typed fields.
final class TensorValuesTests: XCTestCase {
  private let values: [Float] = [1, -2, 0.5, 65504, -0.0, 3]

  private func tensor(_ type: Onnx_TensorProto.DataType, dims: [Int64] = [2, 3], name: String = "w") -> Onnx_TensorProto {
    var tensor = Onnx_TensorProto()
    tensor.name = name
    tensor.dims = dims
    tensor.dataType = Int32(type.rawValue)
    return tensor
  }

  func testShapeAndElementCount() {
    XCTAssertEqual(tensor(.float, dims: [8, 3, 3, 3]).shape, [8, 3, 3, 3])
    XCTAssertEqual(tensor(.float, dims: [8, 3, 3, 3]).elementCount, 216)
    XCTAssertEqual(tensor(.float, dims: []).elementCount, 1, "a scalar has one element")
    XCTAssertEqual(tensor(.float, dims: [4, 0]).elementCount, 0)
    XCTAssertThrowsError(try tensor(.float, dims: [-1, 2]).checkedElementCount())
  }

  func testFloatRawAndTyped() throws {
    let raw = Onnx_TensorProto.makeFloats(values, shape: [2, 3], name: "w", dataType: .float)
    XCTAssertEqual(raw.rawData.count, 24)
    XCTAssertEqual(Array(raw.rawData.prefix(4)), [0x00, 0x00, 0x80, 0x3F], "1.0 little-endian")
    XCTAssertEqual(try raw.floatValues().map(\.bitPattern), values.map(\.bitPattern))
    var typed = tensor(.float)
    typed.floatData = values
    XCTAssertEqual(try typed.floatValues().map(\.bitPattern), values.map(\.bitPattern))
  }

  func testDoubleRawAndTyped() throws {
    let raw = Onnx_TensorProto.makeFloats(values, shape: [2, 3], name: "w", dataType: .double)
    XCTAssertEqual(raw.rawData.count, 48)
    XCTAssertEqual(try raw.floatValues(), values)
    var typed = tensor(.double)
    typed.doubleData = [1, -2, 0.5, 65504, 0, 0.1]
    XCTAssertEqual(try typed.floatValues(), [1, -2, 0.5, 65504, 0, 0.1 as Float])
  }

  func testFloat16RawAndTyped() throws {
    let raw = Onnx_TensorProto.makeFloats([1, 65504, -0.0], shape: [3], name: "h", dataType: .float16)
    XCTAssertEqual(Array(raw.rawData), [0x00, 0x3C, 0xFF, 0x7B, 0x00, 0x80])
    XCTAssertEqual(try raw.floatValues().map(\.bitPattern), [1, 65504, -0.0 as Float].map(\.bitPattern))
    var typed = tensor(.float16, dims: [3])
    typed.int32Data = [0x3C00, 0x7BFF, 0x0001]  // fp16 bit patterns in int32_data
    XCTAssertEqual(try typed.floatValues(), [1, 65504, 0x1p-24])
  }

  func testBFloat16RawAndTyped() throws {
    let raw = Onnx_TensorProto.makeFloats([1, -2, 1 + 3 * 0x1p-8], shape: [3], name: "b", dataType: .bfloat16)
    XCTAssertEqual(Array(raw.rawData), [0x80, 0x3F, 0x00, 0xC0, 0x82, 0x3F])
    XCTAssertEqual(try raw.floatValues(), [1, -2, 1 + 0x1p-6])
    var typed = tensor(.bfloat16, dims: [2])
    typed.int32Data = [0x3F80, 0xC000]
    XCTAssertEqual(try typed.floatValues(), [1, -2])
  }

  func testInt64AndInt32RawAndTyped() throws {
    let raw = Onnx_TensorProto.makeInt64s([1, -1, Int64.max], shape: [3], name: "shape")
    XCTAssertEqual(raw.rawData.count, 24)
    XCTAssertEqual(try raw.int64Values(), [1, -1, Int64.max])
    var typed64 = tensor(.int64, dims: [2])
    typed64.int64Data = [7, -7]
    XCTAssertEqual(try typed64.int64Values(), [7, -7])
    var raw32 = tensor(.int32, dims: [2])
    raw32.rawData = Data([0xFF, 0xFF, 0xFF, 0xFF, 0x05, 0x00, 0x00, 0x00])
    XCTAssertEqual(try raw32.int64Values(), [-1, 5])
    var typed32 = tensor(.int32, dims: [2])
    typed32.int32Data = [-3, 4]
    XCTAssertEqual(try typed32.int64Values(), [-3, 4])
  }

  func testScalarAndEmptyTensors() throws {
    let scalar = Onnx_TensorProto.makeFloats([2.5], shape: [], name: "s", dataType: .float)
    XCTAssertEqual(try scalar.floatValues(), [2.5])
    let empty = Onnx_TensorProto.makeFloats([], shape: [0, 3], name: "e", dataType: .float16)
    XCTAssertEqual(try empty.floatValues(), [])
  }

  func testRawDataSizeError() {
    var bad = tensor(.float, dims: [8, 3, 3, 3])
    bad.rawData = Data(count: 1000)
    assertThrows(
      .rawDataSize(tensor: "w", dataType: "FLOAT", dims: [8, 3, 3, 3], expected: 864, actual: 1000),
      message: "tensor 'w': raw_data has 1000 bytes; FLOAT dims [8,3,3,3] need 864.", try bad.floatValues())
    var half = tensor(.float16, dims: [4])
    half.rawData = Data(count: 7)
    assertThrows(
      .rawDataSize(tensor: "w", dataType: "FLOAT16", dims: [4], expected: 8, actual: 7),
      message: "tensor 'w': raw_data has 7 bytes; FLOAT16 dims [4] need 8.", try half.floatValues())
    var ints = tensor(.int64, dims: [2])
    ints.rawData = Data(count: 8)
    assertThrows(
      .rawDataSize(tensor: "w", dataType: "INT64", dims: [2], expected: 16, actual: 8),
      message: "tensor 'w': raw_data has 8 bytes; INT64 dims [2] need 16.", try ints.int64Values())
  }

  func testTypedFieldCountError() {
    var bad = tensor(.float, dims: [2, 3])
    bad.floatData = [1, 2]
    assertThrows(
      .valueCount(tensor: "w", field: "float_data", dims: [2, 3], expected: 6, actual: 2),
      message: "tensor 'w': float_data has 2 values; dims [2,3] need 6.", try bad.floatValues())
  }

  func testUnsupportedDataTypes() {
    assertThrows(
      .unsupportedDataType(tensor: "w", dataType: "INT8"),
      message: "tensor 'w': data type INT8 is not supported by this conversion.", try tensor(.int8).floatValues())
    assertThrows(
      .unsupportedDataType(tensor: "w", dataType: "FLOAT"),
      message: "tensor 'w': data type FLOAT is not supported by this conversion.", try tensor(.float).int64Values())
    var unknown = tensor(.float)
    unknown.dataType = 99
    assertThrows(
      .unsupportedDataType(tensor: "w", dataType: "DATA_TYPE_99"),
      message: "tensor 'w': data type DATA_TYPE_99 is not supported by this conversion.", try unknown.floatValues())
  }

  func testExternalTensorIsNotReadSilently() {
    var external = tensor(.float)
    external.dataLocation = .external
    assertThrows(
      .externalDataUnresolved(tensor: "w"),
      message: "tensor 'w': data is still in an external file; load the model with readModel to resolve it.",
      try external.floatValues())
  }
}
