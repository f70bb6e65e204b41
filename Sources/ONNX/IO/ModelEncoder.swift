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

  /// The serialized model, in order (for tests and small models: `write(_:into:)` streams).
  static func pieces(of model: Onnx_ModelProto) throws -> [Data] {
    var result: [Data] = []
    try write(model) { result.append($0) }
    return result
  }

  /// The number of bytes `model` serializes to, without holding its pieces.
  static func encodedSize(of model: Onnx_ModelProto) throws -> Int {
    guard model.hasGraph, let shell = try Shell(graphOf: model) else { return try model.serializedData().count }
    return shell.size(childPayload: try graphSize(model.graph))
  }

  /// Hands the serialized model to `sink` piece by piece, in order. Only one initializer's
  /// pieces exist at a time: a model of 10⁴ tensors is never held as 10⁵ small buffers at once.
  static func write(_ model: Onnx_ModelProto, into sink: (Data) throws -> Void) throws {
    guard model.hasGraph, let shell = try Shell(graphOf: model) else { return try sink(model.serializedData()) }
    try shell.write(childPayload: try graphSize(model.graph), into: sink) { try writeGraph(model.graph, into: sink) }
  }

  /// The graph's payload size (the bytes of the model's field 7 after its header).
  private static func graphSize(_ graph: Onnx_GraphProto) throws -> Int {
    guard !graph.initializer.isEmpty, let shell = try Shell(initializersOf: graph) else { return try graph.serializedData().count }
    var size = shell.bytes.count - shell.placeholder.count
    for t in graph.initializer {
      let n = try tensorPieces(t).reduce(0) { $0 + $1.count }
      size += WireField.header(number: 5, length: n).count + n
    }
    return size
  }

  private static func writeGraph(_ graph: Onnx_GraphProto, into sink: (Data) throws -> Void) throws {
    guard !graph.initializer.isEmpty, let shell = try Shell(initializersOf: graph) else { return try sink(graph.serializedData()) }
    try sink(shell.bytes.subdata(in: 0..<shell.placeholder.lowerBound))
    for t in graph.initializer {
      let pieces = try tensorPieces(t)
      try sink(Data(WireField.header(number: 5, length: pieces.reduce(0) { $0 + $1.count })))
      for p in pieces { try sink(p) }
    }
    try sink(shell.bytes.subdata(in: shell.placeholder.upperBound..<shell.bytes.count))
  }

  /// The serialized tensor, in order; large `raw_data` is referenced, not copied.
  private static func tensorPieces(_ tensor: Onnx_TensorProto) throws -> [Data] {
    guard tensor.hasRawData, tensor.rawData.count >= borrowThreshold else { return [try tensor.serializedData()] }
    var shell = tensor
    shell.rawData = Data()
    let bytes = try shell.serializedData()
    guard let placeholder = bytes.withUnsafeBytes({ WireField.emptyField(9, in: $0) })?.range else {
      return [try tensor.serializedData()]
    }
    return [
      bytes.subdata(in: 0..<placeholder.lowerBound), Data(WireField.header(number: 9, length: tensor.rawData.count)),
      tensor.rawData, bytes.subdata(in: placeholder.upperBound..<bytes.count),
    ]
  }

  /// A message serialized with an empty placeholder where its one big child field goes (swift-
  /// protobuf writes known fields in field-number order and unknown fields last, so splicing the
  /// child in at the placeholder gives the same bytes as serializing the whole).
  private struct Shell {
    let bytes: Data
    let placeholder: Range<Int>
    let field: Int

    /// The model without its graph; nil when the placeholder is not found.
    init?(graphOf model: Onnx_ModelProto) throws {
      var shell = model
      shell.graph = Onnx_GraphProto()
      try self.init(shell.serializedData(), field: 7)
    }

    /// The graph with one empty initializer in place of its list; nil when not found.
    init?(initializersOf graph: Onnx_GraphProto) throws {
      var shell = graph
      shell.initializer = [Onnx_TensorProto()]
      try self.init(shell.serializedData(), field: 5)
    }

    private init?(_ bytes: Data, field: Int) throws {
      guard let p = bytes.withUnsafeBytes({ WireField.emptyField(field, in: $0) }) else { return nil }
      (self.bytes, self.placeholder, self.field) = (bytes, p.range, field)
    }

    func size(childPayload n: Int) -> Int {
      bytes.count - placeholder.count + WireField.header(number: field, length: n).count + n
    }

    func write(childPayload n: Int, into sink: (Data) throws -> Void, child: () throws -> Void) throws {
      try sink(bytes.subdata(in: 0..<placeholder.lowerBound))
      try sink(Data(WireField.header(number: field, length: n)))
      try child()
      try sink(bytes.subdata(in: placeholder.upperBound..<bytes.count))
    }
  }
}
