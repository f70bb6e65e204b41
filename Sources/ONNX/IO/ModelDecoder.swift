import Foundation
internal import ONNXProto
internal import SwiftProtobuf

/// Decodes a memory-mapped model one initializer at a time.
///
/// swift-protobuf copies every `bytes` field out of its input, so parsing a whole mapped file at
/// once holds the file's pages and the copies together (2× the model). Instead the model and its
/// graph are split at the wire level: the small remainder of each is decoded as usual, each
/// initializer is decoded on its own, and its pages are handed back to the kernel right away.
/// The result equals decoding the whole file (repeated fields keep their order; unknown fields
/// are kept). Anything unusual (no graph, two graph fields, malformed bytes) falls back to
/// decoding the whole file, which also produces swift-protobuf's error for bad input.
enum ModelDecoder {
  /// The model in `file`.
  /// - Throws: `BinaryDecodingError` when the bytes are not a `ModelProto`.
  static func decode(_ file: MappedFile) throws -> Onnx_ModelProto {
    if let model = try? decodeByParts(file) { return model }
    return try decodeWhole(file.bytes)
  }

  /// Decodes `bytes` with one swift-protobuf call (the reference the split decoder must match).
  static func decodeWhole(_ bytes: UnsafeRawBufferPointer) throws -> Onnx_ModelProto {
    try Onnx_ModelProto(serializedBytes: borrowedData(bytes))
  }

  /// Splits model → graph → initializers; `nil` when the layout is not the usual one.
  static func decodeByParts(_ file: MappedFile) throws -> Onnx_ModelProto? {
    let bytes = file.bytes
    guard let modelFields = WireField.fields(in: bytes) else { return nil }
    let graphFields = modelFields.filter { $0.number == 7 }
    guard graphFields.count == 1, graphFields[0].wireType == 2 else { return nil }
    let graphRange = graphFields[0].payload
    let graphBytes = UnsafeRawBufferPointer(rebasing: bytes[graphRange])
    guard let fields = WireField.fields(in: graphBytes) else { return nil }

    var initializers: [Onnx_TensorProto] = []
    initializers.reserveCapacity(fields.count { $0.number == 5 })
    var rest = Data()
    // Every field is copied out (decoded, or appended to `rest`) before the next is read, so all
    // bytes up to the current field's end are done with: discarding from where the last discard
    // stopped frees the pages small initializers share with their neighbours too.
    var discardedUpTo = 0
    for field in fields {
      if field.number == 5 && field.wireType == 2 {
        let payload = UnsafeRawBufferPointer(rebasing: graphBytes[field.payload])
        initializers.append(try Onnx_TensorProto(serializedBytes: borrowedData(payload)))
      } else {
        rest.append(contentsOf: UnsafeRawBufferPointer(rebasing: graphBytes[field.range]))
      }
      let end = graphRange.lowerBound + field.range.upperBound
      if end - discardedUpTo >= 1 << 16 {
        file.discard(discardedUpTo..<end)
        discardedUpTo = end / MappedFile.pageSize * MappedFile.pageSize
      }
    }
    var graph = try Onnx_GraphProto(serializedBytes: rest)
    graph.initializer = initializers
    initializers = []

    var modelRest = Data()
    for field in modelFields where field.number != 7 {
      modelRest.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[field.range]))
    }
    var model = try Onnx_ModelProto(serializedBytes: modelRest)
    model.graph = graph
    return model
  }

  /// Wraps `bytes` without copying; only valid while they are (swift-protobuf copies what it keeps).
  private static func borrowedData(_ bytes: UnsafeRawBufferPointer) -> Data {
    guard let base = bytes.baseAddress, !bytes.isEmpty else { return Data() }
    return Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: bytes.count, deallocator: .none)
  }
}
