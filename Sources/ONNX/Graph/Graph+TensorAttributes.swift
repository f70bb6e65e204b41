extension Graph {
  /// The TENSOR attribute `attribute` of the node `id`, decoded; nil when the node has
  /// no such attribute or it is not a dense tensor (`AttributeValue` reports those as `.other`).
  /// - Parameters:
  ///   - attribute: the attribute name, e.g. "value" of `Constant` or `ConstantOfShape`.
  ///   - id: the node.
  /// - Returns: the decoded tensor.
  /// - Throws: `ONNXError` when the tensor's data is malformed or its type unsupported.
  public func tensorAttribute(_ attribute: String, of id: NodeID) throws -> TensorData? {
    precondition(contains(id), "node \(id) is not in the graph")
    guard let a = attributes(record(id.raw)).first(where: { $0.name == attribute }), a.hasT else { return nil }
    return try a.t.tensorData()
  }
}

extension Graph {
  /// The STRINGS attribute `attribute` of the node `id` (e.g. an RNN's `activations`),
  /// nil when absent; `AttributeValue` reports this kind as `.other`.
  /// - Parameters:
  ///   - attribute: the attribute name.
  ///   - id: the node.
  /// - Returns: the strings, decoded as UTF-8.
  public func stringsAttribute(_ attribute: String, of id: NodeID) -> [String]? {
    precondition(contains(id), "node \(id) is not in the graph")
    guard let a = attributes(record(id.raw)).first(where: { $0.name == attribute }), !a.strings.isEmpty else { return nil }
    return a.strings.map { String(decoding: $0, as: UTF8.self) }
  }
}
