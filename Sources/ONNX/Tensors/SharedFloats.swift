import Foundation
internal import ONNXProto

/// FLOAT tensors whose `raw_data` bytes are the storage of a `[Float]`, so the graph (which
/// writes the bytes) and whoever reads the values (the executor's constants, the rewriter's
/// kernels) hold one copy of each weight between them, not a protobuf copy plus a decoded one.
///
/// On a little-endian host a FLOAT `raw_data` is exactly the bytes of its `[Float]`. The `Data`
/// made here points into the array's heap buffer and keeps the array alive (its deallocator
/// holds it). Nothing ever writes that buffer: every other holder of the array has a copy-on-
/// write value, and `raw_data` is never mutated in place (tensors are replaced, not edited).
enum SharedFloats {
  /// `tensor` with its values decoded once and its `raw_data` rebuilt as a view of them, and
  /// those values; nil when the tensor is not a FLOAT tensor with inline `raw_data` of exactly
  /// its element count (left as it is: it decodes, or fails, as before).
  static func share(_ tensor: Onnx_TensorProto) -> (tensor: Onnx_TensorProto, values: [Float])? {
    #if _endian(little)
      guard tensor.dataType == Int32(Onnx_TensorProto.DataType.float.rawValue), tensor.hasRawData,
        !(tensor.hasDataLocation && tensor.dataLocation == .external),
        let count = try? tensor.checkedElementCount(), count > 0,
        // compared by division: dims from the file may make count × 4 overflow
        tensor.rawData.count % 4 == 0, tensor.rawData.count / 4 == count,
        let values = try? tensor.floatValues()
      else { return nil }
      var shared = tensor
      shared.rawData = data(viewing: values)
      return (shared, values)
    #else
      return nil
    #endif
  }

  /// A FLOAT tensor whose `raw_data` is a view of `values` (no copy).
  static func tensor(_ values: [Float], shape: [Int], name: String) -> Onnx_TensorProto {
    #if _endian(little)
      precondition(values.count == shape.reduce(1, *), "SharedFloats: \(values.count) values for shape \(shape)")
      var tensor = Onnx_TensorProto()
      tensor.name = name
      tensor.dims = shape.map { Int64($0) }
      tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
      tensor.rawData = data(viewing: values)
      return tensor
    #else
      return Onnx_TensorProto.makeFloats(values, shape: shape, name: name, dataType: .float)
    #endif
  }

  /// `Data` over `values`' own bytes; the `Data` retains the array until it is released.
  private static func data(viewing values: [Float]) -> Data {
    guard !values.isEmpty else { return Data() }
    // A native array's elements stay at one address while its buffer lives; the deallocator
    // keeps the buffer alive, and no holder writes it in place (see the type's comment).
    let base = values.withUnsafeBufferPointer { UnsafeMutableRawPointer(mutating: $0.baseAddress!) }
    return Data(bytesNoCopy: base, count: values.count * MemoryLayout<Float>.size, deallocator: .custom { _, _ in
      withExtendedLifetime(values) {}
    })
  }
}
