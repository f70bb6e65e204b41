import ONNXProto

/// Producer and consumer tables of a graph, rebuilt after each edit (O(nodes + edges)).
struct GraphIndex {
  var producers: [String: Int] = [:]
  var consumers: [String: [Int]] = [:]
  var initializers: [String: Int] = [:]
  var graphInputs: Set<String> = []
  var graphOutputs: Set<String> = []
  /// Outer values read from inside subgraphs.
  var subgraphReferences: Set<String> = []
  /// Every name in use: values, nodes, initializers; new names must avoid them.
  var names: Set<String> = []

  init(_ graph: Onnx_GraphProto) {
    for (i, t) in graph.initializer.enumerated() {
      initializers[t.name] = i
      names.insert(t.name)
    }
    for v in graph.input { graphInputs.insert(v.name); names.insert(v.name) }
    for v in graph.output { graphOutputs.insert(v.name); names.insert(v.name) }
    for v in graph.valueInfo { names.insert(v.name) }
    for (i, n) in graph.node.enumerated() {
      names.insert(n.name)
      for o in n.output where !o.isEmpty {
        producers[o] = i
        names.insert(o)
      }
      for x in n.input where !x.isEmpty { consumers[x, default: []].append(i) }
      for a in n.attribute {
        if a.hasG { GraphIndex.collectReferences(a.g, into: &subgraphReferences) }
        for g in a.graphs { GraphIndex.collectReferences(g, into: &subgraphReferences) }
      }
    }
  }

  /// Every value name a subgraph (recursively) reads; over-approximates outer references,
  /// which only makes removal more cautious.
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
}
