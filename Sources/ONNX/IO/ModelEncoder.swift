import Foundation
internal import ONNXProto
internal import SwiftProtobuf

/// Encodes a model as a list of byte pieces whose concatenation is exactly
/// `model.serializedData()`, without copying large `raw_data` buffers.
///
/// Each level (model → graph → initializer → raw_data) is serialized with an empty placeholder
/// where the big child goes; the placeholder (a length-delimited field with no payload) is
/// found at the wire level and replaced by the child's tag, length and pieces. swift-protobuf
/// writes known fields in field-number order and unknown fields last, so the result is the same
/// bytes, and the model is never held twice in memory while it is written.
enum ModelEncoder {
  /// `raw_data` smaller than this is serialized with its tensor as usual.
  static let borrowThreshold = 1 << 12

  /// The serialized model, in order.
  static func pieces(of model: Onnx_ModelProto) throws -> [Data] {
    guard model.hasGraph else { return [try model.serializedData()] }
    var shell = model
    shell.graph = Onnx_GraphProto()
    return try splice(shell: shell.serializedData(), field: 7, children: [pieces(of: model.graph)])
      ?? [model.serializedData()]
  }

  /// The serialized graph, in order.
  static func pieces(of graph: Onnx_GraphProto) throws -> [Data] {
    guard !graph.initializer.isEmpty else { return [try graph.serializedData()] }
    var shell = graph
    shell.initializer = [Onnx_TensorProto()]
    return try splice(shell: shell.serializedData(), field: 5, children: graph.initializer.map(pieces(of:)))
      ?? [graph.serializedData()]
  }

  /// The serialized tensor, in order; large `raw_data` is referenced, not copied.
  static func pieces(of tensor: Onnx_TensorProto) throws -> [Data] {
    guard tensor.hasRawData, tensor.rawData.count >= borrowThreshold else { return [try tensor.serializedData()] }
    var shell = tensor
    shell.rawData = Data()
    return try splice(shell: shell.serializedData(), field: 9, children: [[tensor.rawData]])
      ?? [tensor.serializedData()]
  }

  /// The number of bytes `model` serializes to.
  static func encodedSize(of model: Onnx_ModelProto) throws -> Int {
    try pieces(of: model).reduce(0) { $0 + $1.count }
  }

  /// Replaces the empty field `field` of `shell` by one length-delimited field per child.
  private static func splice(shell: Data, field: Int, children: [[Data]]) -> [Data]? {
    guard let placeholder = shell.withUnsafeBytes({ WireField.emptyField(field, in: $0) }) else { return nil }
    var result: [Data] = [shell.subdata(in: 0..<placeholder.range.lowerBound)]
    for child in children {
      result.append(Data(WireField.header(number: field, length: child.reduce(0) { $0 + $1.count })))
      result.append(contentsOf: child)
    }
    result.append(shell.subdata(in: placeholder.range.upperBound..<shell.count))
    return result
  }
}
