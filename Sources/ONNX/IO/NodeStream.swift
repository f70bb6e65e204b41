internal import ONNXProto

/// The nodes of a graph being written, in order, without a list of them all: most are rebuilt
/// from the graph's records one at a time as they are encoded (a list of 200,000 protobuf nodes
/// and their serialized bytes were ≈ 70 MB held while a rewritten model was written). Nodes
/// whose attributes hold tensors or graphs stay in the model's own node list, in order, where
/// the external-data walk (`ModelIO.externalize`) finds and moves their tensors.
struct NodeStream {
  private let graph: Graph
  private let slots: [Int]

  /// Calls `body` with each node in order; `listed` is the model's node list (the nodes that
  /// are not rebuilt, in order, as `Graph.writableParts()` left them).
  func forEach(listed: [Onnx_NodeProto], _ body: (Onnx_NodeProto) throws -> Void) rethrows {
    var k = 0
    for s in slots {
      if graph.isRebuiltWhenWritten(s) {
        try body(graph.nodeProto(s))
      } else {
        try body(listed[k])
        k += 1
      }
    }
  }

  /// The bytes the nodes take in the graph (each a field 1: tag, length and message), counted
  /// from the records without encoding them (the write encodes each once): a rebuilt node is
  /// its strings' fields (inputs 1, outputs 2, name 3) plus its kind's and its attributes'
  /// encodings, each counted once per distinct kind and list.
  func fieldBytes(listed: [Onnx_NodeProto]) throws -> Int {
    var kindBytes: [Int32: Int] = [:]
    var attributeBytes: [Int32: Int] = [:]
    func text(_ id: NameID) -> Int { id == noName ? 2 : WireField.fieldSize(length: graph.index.byteCount(id)) }
    var total = 0
    var k = 0
    for s in slots {
      guard graph.isRebuiltWhenWritten(s) else {
        total += WireField.fieldSize(length: try listed[k].serializedData().count)
        k += 1
        continue
      }
      let r = graph.record(s)
      var m = 0
      for x in graph.inputIDs(r) { m += text(x) }
      for o in graph.outputIDs(r) { m += text(o) }
      if r.name != noName { m += text(r.name) }
      if let b = kindBytes[r.kind] {
        m += b
      } else {
        let b = try graph.kind(r).serializedData().count
        kindBytes[r.kind] = b
        m += b
      }
      if let b = attributeBytes[r.attributes] {
        m += b
      } else {
        let b = try graph.attributes(r).reduce(0) { $0 + WireField.fieldSize(length: try $1.serializedData().count) }
        attributeBytes[r.attributes] = b
        m += b
      }
      total += WireField.fieldSize(length: m)
    }
    return total
  }

  fileprivate init(graph: Graph, slots: [Int]) {
    self.graph = graph
    self.slots = slots
  }
}

extension Graph {
  /// The protobuf form for writing: the header, the initializers, and in `node` only the nodes
  /// the stream does not rebuild; the stream gives every node in order.
  func writableParts() -> (proto: Onnx_GraphProto, nodes: NodeStream) {
    var g = header
    let slots = orderedSlots
    g.node = slots.lazy.filter { !isRebuiltWhenWritten($0) }.map(nodeProto)
    g.initializer = initializerSlots.compactMap { $0 }
    return (g, NodeStream(graph: self, slots: slots))
  }

  /// Whether the node in slot `s` holds no tensor or graph, so has nothing to move out.
  fileprivate func isRebuiltWhenWritten(_ s: Int) -> Bool { Graph.holdsNumbersAndStrings(attributes(record(s))) }
}
