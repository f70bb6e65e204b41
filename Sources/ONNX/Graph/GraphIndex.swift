internal import ONNXProto

/// Producer and consumer tables of a graph, and the names it has reserved. Built once when the
/// graph is read, then kept in step by every edit (`Graph+Editing.swift`), so an edit costs
/// O(size of the edit).
///
/// Every name in use or reserved (values, nodes, names declared in subgraphs, names handed out by
/// `make`) has one record, which for a value also holds its producer and readers: a node's names
/// are hashed once when it is indexed, and a graph of 10⁵ nodes keeps one table of its names
/// where separate producer, consumer and reservation tables held each value name three times
/// (≈ 70 bytes per value more, with an array of readers per value).
struct GraphIndex {
  /// Every reserved name's record (edited through `add`, `remove`, `reserve` and `make`).
  var names: [String: NameUses] = [:]
  /// Initializer name → slot in `Graph.initializerSlots`.
  var initializers: [String: Int] = [:]
  var graphInputs: Set<String> = []
  var graphOutputs: Set<String> = []
  /// Outer values read from inside subgraphs, counted per reading node so removal can undo them.
  var subgraphReferences: [String: Int] = [:]

  /// The producer and readers of a value; a name only reserved has neither. A record stays when
  /// its value goes, so the name stays reserved.
  struct NameUses {
    var producer: Int32 = -1
    var reader: Int32 = -1
    /// Readers after the first, in the order they were indexed (most values have one).
    var otherReaders: [NodeID]? = nil

    /// Readers in the order they were indexed (a node reading the value twice is listed twice).
    var readers: [NodeID] {
      guard reader >= 0 else { return [] }
      return [NodeID(raw: Int(reader))] + (otherReaders ?? [])
    }

    mutating func addReader(_ id: NodeID) {
      if reader < 0 {
        reader = Int32(id.raw)
      } else if otherReaders == nil {
        otherReaders = [id]
      } else {
        otherReaders!.append(id)  // in place: a shared constant has thousands of readers
      }
    }

    mutating func removeReader(_ id: NodeID) {
      var left = readers
      left.removeAll { $0 == id }
      reader = left.first.map { Int32($0.raw) } ?? -1
      otherReaders = left.count > 1 ? Array(left.dropFirst()) : nil
    }
  }

  /// The node producing `value`, if any.
  func producer(of value: String) -> NodeID? {
    guard let p = names[value]?.producer, p >= 0 else { return nil }
    return NodeID(raw: Int(p))
  }

  /// The nodes reading `value`, in the order they were indexed.
  func consumers(of value: String) -> [NodeID] { names[value]?.readers ?? [] }

  /// Indexes one node's wiring and reserves its names.
  mutating func add(_ node: Onnx_NodeProto, id: NodeID) {
    precondition(id.raw <= Int32.max, "a graph of more than 2³¹ node slots")
    reserve(node.name)
    for o in node.output where !o.isEmpty { names[o, default: NameUses()].producer = Int32(id.raw) }
    for x in node.input where !x.isEmpty { names[x, default: NameUses()].addReader(id) }
    for r in GraphIndex.references(of: node) { subgraphReferences[r, default: 0] += 1 }
  }

  /// Undoes `add(node, id:)`, but for the reservations.
  mutating func remove(_ node: Onnx_NodeProto, id: NodeID) {
    for o in node.output where !o.isEmpty && names[o]?.producer == Int32(id.raw) { names[o]!.producer = -1 }
    for x in Set(node.input) where !x.isEmpty { names[x]?.removeReader(id) }
    for r in GraphIndex.references(of: node) {
      let left = (subgraphReferences[r] ?? 1) - 1
      subgraphReferences[r] = left > 0 ? left : nil
    }
  }

  /// Makes room for `count` more names without rehashing.
  mutating func reserveCapacity(names count: Int) { names.reserveCapacity(names.count + count) }

  /// What the index says about the graph's wiring (not its reservations), consumer lists sorted:
  /// for comparing two indexes.
  var normalized: Wiring {
    var producers: [String: NodeID] = [:]
    var consumers: [String: [NodeID]] = [:]
    for (name, uses) in names {
      if uses.producer >= 0 { producers[name] = NodeID(raw: Int(uses.producer)) }
      if uses.reader >= 0 { consumers[name] = uses.readers.sorted() }
    }
    return Wiring(
      producers: producers, consumers: consumers, initializers: initializers, graphInputs: graphInputs,
      graphOutputs: graphOutputs, subgraphReferences: subgraphReferences)
  }

  /// The index's wiring alone, comparable.
  struct Wiring: Equatable {
    let producers: [String: NodeID]
    let consumers: [String: [NodeID]]
    let initializers: [String: Int]
    let graphInputs: Set<String>
    let graphOutputs: Set<String>
    let subgraphReferences: [String: Int]
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
