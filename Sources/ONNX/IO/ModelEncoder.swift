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
  static func encodedSize(of model: Onnx_ModelProto) throws -> Int { try Encoding(model).size }

  /// Hands the serialized model to `sink` piece by piece, in order. Only one initializer's
  /// pieces exist at a time: a model of 10⁴ tensors is never held as 10⁵ small buffers at once.
  static func write(_ model: Onnx_ModelProto, into sink: (Data) throws -> Void) throws {
    try Encoding(model).write(into: sink)
  }

  /// A model's shells, serialized once for both its size and its bytes. With a node stream the
  /// graph's nodes (field 1, written first) are counted from the graph's records and encoded one
  /// at a time as they are written, never held together.
  struct Encoding {
    /// The bytes `write(into:)` hands over.
    let size: Int
    /// The model; with a node stream, its graph without nodes.
    private let model: Onnx_ModelProto
    /// The graph's nodes in order, and the ones the stream does not rebuild; nil when the nodes
    /// are the graph's own list.
    private let nodes: (stream: NodeStream, listed: [Onnx_NodeProto])?
    /// The model without its graph; nil when the whole model is serialized as usual.
    private let shell: Shell?
    /// The graph with an empty initializer in place of its list; nil when the graph is
    /// serialized as usual.
    private let graphShell: Shell?
    /// The graph's payload size (the bytes of the model's field 7 after its header).
    private let graphPayload: Int

    /// - Parameters:
    ///   - model: the model; with `nodes`, its graph lists only the nodes the stream does not
    ///     rebuild.
    ///   - nodes: the graph's nodes in order (`Graph.writableParts()`).
    init(_ model: Onnx_ModelProto, nodes stream: NodeStream? = nil) throws {
      var model = model
      var payload = 0
      if let stream, model.hasGraph {
        let listed = model.graph.node
        model.graph.node = []  // the rest of the graph is written after them
        payload += try stream.fieldBytes(listed: listed)
        nodes = (stream, listed)
      } else {
        nodes = nil
      }
      self.model = model
      shell = model.hasGraph ? try Shell(graphOf: model) : nil
      graphShell = shell != nil && !model.graph.initializer.isEmpty ? try Shell(initializersOf: model.graph) : nil
      if let graphShell {
        payload += graphShell.bytes.count - graphShell.placeholder.count
        for t in model.graph.initializer {
          let k = try tensorPieces(t).reduce(0) { $0 + $1.count }
          payload += WireField.header(number: 5, length: k).count + k
        }
      } else if shell != nil {
        payload += try model.graph.serializedData().count
      }
      graphPayload = payload
      size = try shell.map { $0.size(childPayload: payload) } ?? model.serializedData().count
    }

    func write(into sink: (Data) throws -> Void) throws {
      guard let shell else { return try sink(model.serializedData()) }
      try shell.write(childPayload: graphPayload, into: sink) {
        if let nodes {
          try nodes.stream.forEach(listed: nodes.listed) { n in
            let bytes = try n.serializedData()
            try sink(Data(WireField.header(number: 1, length: bytes.count)))
            try sink(bytes)
          }
        }
        guard let graphShell else { return try sink(model.graph.serializedData()) }
        // Slices share the shell's bytes: a copy of a large graph's header would be held
        // beside it while the model is written.
        try sink(graphShell.bytes[0..<graphShell.placeholder.lowerBound])
        for t in model.graph.initializer {
          let pieces = try tensorPieces(t)
          try sink(Data(WireField.header(number: 5, length: pieces.reduce(0) { $0 + $1.count })))
          for p in pieces { try sink(p) }
        }
        try sink(graphShell.bytes[graphShell.placeholder.upperBound..<graphShell.bytes.count])
      }
    }
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
      try sink(bytes[0..<placeholder.lowerBound])
      try sink(Data(WireField.header(number: field, length: n)))
      try child()
      try sink(bytes[placeholder.upperBound..<bytes.count])
    }
  }
}
