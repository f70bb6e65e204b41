import Foundation
internal import ONNXProto

/// An ONNX model: its main graph as an editable `Graph`, plus everything else carried through.
public struct Model {
  var proto: Onnx_ModelProto
  /// The main graph; edits here are written back by `save`.
  public var graph: Graph
  /// The external-data files the model was read with (empty when all tensors were inline).
  public let externalDataFiles: [String]

  /// Consumes `proto`: handed the last copy, the graph's weights move into `graph` one at a
  /// time (see `Graph.init(proto:irVersion:)`), never held twice.
  init(proto: consuming Onnx_ModelProto, externalDataFiles: [String] = []) {
    var rest = consume proto
    let graph = rest.graph
    // The graph lives in `graph` alone, so replaced weights are freed, not kept twice.
    rest.graph = Onnx_GraphProto()
    self.graph = Graph(proto: consume graph, irVersion: Int(rest.irVersion))
    self.proto = rest
    self.externalDataFiles = externalDataFiles
  }

  /// A model built in memory around `graph`.
  /// - Parameters:
  ///   - graph: the main graph; its IR version is stamped in the model.
  ///   - opsets: imported operator sets by domain ("" is the default ONNX domain).
  ///   - producer: `producer_name`.
  public init(graph: Graph, opsets: [String: Int], producer: String = "onnx-rstd") {
    var p = Onnx_ModelProto()
    p.irVersion = Int64(graph.irVersion)
    p.producerName = producer
    p.opsetImport = opsets.sorted { $0.key < $1.key }.map { domain, version in
      var o = Onnx_OperatorSetIdProto()
      o.domain = domain
      o.version = Int64(version)
      return o
    }
    self.proto = p
    self.graph = graph
    self.externalDataFiles = []
  }

  /// A model parsed from bytes held in memory (tensors inline; external data is not resolved).
  /// - Throws: `ONNXError.notAModel` when the bytes are not an ONNX model.
  public init(serializedData data: Data) throws {
    let proto: Onnx_ModelProto
    do {
      proto = try Onnx_ModelProto(serializedBytes: data)
    } catch {
      throw ONNXError.notAModel(path: "(bytes)", reason: "the bytes are not protobuf")
    }
    try ModelIO.checkIsModel(proto, path: "(bytes)")
    self.init(proto: consume proto)
  }

  /// Imported operator sets by domain ("" is the default ONNX domain; "ai.onnx" is read as "").
  public var opsets: [String: Int] {
    Dictionary(proto.opsetImport.map { ($0.domain == "ai.onnx" ? "" : $0.domain, Int($0.version)) }, uniquingKeysWith: { a, _ in a })
  }

  /// Reads a model file, resolving external data relative to the file's folder.
  /// - Parameter path: the model file.
  /// - Returns: the model.
  /// - Throws: `ONNXError` naming the problem (missing, empty, not a model, truncated, ...).
  public static func load(path: String) throws -> Model {
    var sideFiles: [String] = []
    let proto = try ModelIO.readModel(at: path, sideFiles: &sideFiles)
    return Model(proto: consume proto, externalDataFiles: sideFiles)
  }

  /// Writes the model atomically (temporary file, then rename).
  /// - Parameters:
  ///   - path: the output file; its folder must exist.
  ///   - externalData: where tensor bytes go.
  /// - Throws: `ONNXError` when the folder is missing or the write fails.
  public func save(to path: String, externalData: ExternalDataPolicy = .automatic) throws {
    let transaction = try WriteTransaction(input: nil, model: path, report: nil)
    try stage(in: transaction, externalData: externalData)
    try transaction.commit()
  }

  /// The serialized bytes of the model with tensors inline (for tests and size estimates).
  public func serializedData() throws -> Data { try assembled.serializedData() }

  private var assembled: Onnx_ModelProto {
    var m = proto
    m.graph = graph.proto
    return m
  }

  /// The IR version stamped in the file.
  public var irVersion: Int { Int(proto.irVersion) }

  /// The imported version of an operator set ("" is the default ONNX domain), nil if not imported.
  public func opsetVersion(_ domain: String = "") -> Int? {
    let wanted = domain == "ai.onnx" ? "" : domain
    return proto.opsetImport.first { ($0.domain == "ai.onnx" ? "" : $0.domain) == wanted }
      .map { Int($0.version) }
  }

  /// Sets (or replaces) a `metadata_props` entry.
  public mutating func setMetadata(_ key: String, _ value: String) {
    proto.metadataProps.removeAll { $0.key == key }
    var e = Onnx_StringStringEntryProto()
    e.key = key
    e.value = value
    proto.metadataProps.append(e)
  }

  /// Every `metadata_props` entry as key → value (the first of duplicate keys).
  public var metadataProps: [String: String] {
    Dictionary(proto.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
  }

  /// The value of a `metadata_props` entry.
  public func metadata(_ key: String) -> String? {
    proto.metadataProps.first { $0.key == key }?.value
  }
}
