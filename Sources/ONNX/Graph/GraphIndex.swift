internal import ONNXProto

/// Producer and consumer tables of a graph. Built once when the graph is read, then kept in step
/// by every edit (`Graph+Editing.swift`), so an edit costs O(size of the edit).
struct GraphIndex: Equatable {
  var producers: [String: NodeID] = [:]
  /// Readers of each value, in the order they were indexed (a node reading a value twice is
  /// listed twice).
  var consumers: [String: [NodeID]] = [:]
  /// Initializer name → slot in `Graph.initializerSlots`.
  var initializers: [String: Int] = [:]
  var graphInputs: Set<String> = []
  var graphOutputs: Set<String> = []
  /// Outer values read from inside subgraphs, counted per reading node so removal can undo them.
  var subgraphReferences: [String: Int] = [:]

  /// Indexes one node's wiring.
  mutating func add(_ node: Onnx_NodeProto, id: NodeID) {
    for o in node.output where !o.isEmpty { producers[o] = id }
    for x in node.input where !x.isEmpty { consumers[x, default: []].append(id) }
    for r in GraphIndex.references(of: node) { subgraphReferences[r, default: 0] += 1 }
  }

  /// Undoes `add(node, id:)`.
  mutating func remove(_ node: Onnx_NodeProto, id: NodeID) {
    for o in node.output where !o.isEmpty && producers[o] == id { producers[o] = nil }
    for x in Set(node.input) where !x.isEmpty {
      consumers[x]?.removeAll { $0 == id }
      if consumers[x]?.isEmpty == true { consumers[x] = nil }
    }
    for r in GraphIndex.references(of: node) {
      let left = (subgraphReferences[r] ?? 1) - 1
      subgraphReferences[r] = left > 0 ? left : nil
    }
  }

  /// The same tables with consumer lists sorted, for comparing two indexes.
  var normalized: GraphIndex {
    var copy = self
    copy.consumers = copy.consumers.mapValues { $0.sorted() }
    return copy
  }

  /// Every value name the node's subgraphs (recursively) read; over-approximates outer
  /// references, which only makes removal more cautious.
  static func references(of node: Onnx_NodeProto) -> Set<String> {
    var set: Set<String> = []
    for a in node.attribute {
      if a.hasG { collectReferences(a.g, into: &set) }
      for g in a.graphs { collectReferences(g, into: &set) }
    }
    return set
  }

  static func collectReferences(_ g: Onnx_GraphProto, into set: inout Set<String>) {
    for n in g.node {
      for x in n.input where !x.isEmpty { set.insert(x) }
      for a in n.attribute {
        if a.hasG { collectReferences(a.g, into: &set) }
        for sub in a.graphs { collectReferences(sub, into: &set) }
      }
    }
    for o in g.output { set.insert(o.name) }
  }

  /// Every name declared inside the node's subgraphs (values, nodes, initializers), so new names
  /// never shadow them.
  static func declaredNames(of node: Onnx_NodeProto, into set: inout [String]) {
    for a in node.attribute {
      if a.hasG { declaredNames(a.g, into: &set) }
      for g in a.graphs { declaredNames(g, into: &set) }
    }
  }

  private static func declaredNames(_ g: Onnx_GraphProto, into set: inout [String]) {
    set += g.input.map(\.name) + g.output.map(\.name) + g.valueInfo.map(\.name) + g.initializer.map(\.name)
    for n in g.node {
      set.append(n.name)
      set += n.output
      declaredNames(of: n, into: &set)
    }
  }
}
