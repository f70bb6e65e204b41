internal import ONNXProto

/// Producer and consumer tables of a graph, and the names it has reserved. Built once when the
/// graph is read, then kept in step by every edit (`Graph+Editing.swift`), so an edit costs
/// O(size of the edit).
///
/// Every name in use or reserved (values, nodes, names declared in subgraphs, names handed out by
/// `make`) is stored once and numbered (`NameID`); nodes hold these numbers, not strings
/// (`NodeRecord`). A value's record holds its producer and readers: a node's names are hashed
/// once when it is read, and never again while it is rewired, sorted or compiled.
struct GraphIndex {
  /// The names, numbered.
  private(set) var names = NameTable()
  /// Number → the producer and readers of that value (none for a name only reserved).
  var uses: [NameUses] = []
  /// Initializer name → slot in `Graph.initializerSlots`.
  var initializers: [String: Int] = [:]
  var graphInputs: Set<String> = []
  var graphOutputs: Set<String> = []
  /// Outer values read from inside subgraphs, counted per reading node so removal can undo them.
  var subgraphReferences: [String: Int] = [:]

  /// The producer and readers of a value. A record stays when its value goes, so the name stays
  /// reserved.
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

  /// The number of `name` ("" has none: it is no name), if reserved.
  func id(of name: String) -> NameID? { name.isEmpty ? nil : names.id(of: name) }

  /// The name numbered `id`.
  func string(_ id: NameID) -> String { names.string(id) }

  /// The UTF-8 length of the name numbered `id`.
  func byteCount(_ id: NameID) -> Int { names.byteCount(id) }

  /// How many names are numbered.
  var nameCount: Int { names.count }

  /// The number of `name`, reserving it when new; `noName` for "".
  mutating func intern(_ name: String) -> NameID {
    var isNew = false
    return intern(name, isNew: &isNew)
  }

  /// `intern`, telling whether the name was new (one hash either way).
  mutating func intern(_ name: String, isNew: inout Bool) -> NameID {
    guard !name.isEmpty else { isNew = false; return noName }
    let id = names.intern(name, isNew: &isNew)
    if isNew { uses.append(NameUses()) }
    return id
  }

  /// The node producing `value`, if any.
  func producer(of value: String) -> NodeID? { id(of: value).flatMap(producer(of:)) }

  /// The node producing the value numbered `value`, if any.
  func producer(of value: NameID) -> NodeID? {
    let p = uses[Int(value)].producer
    return p >= 0 ? NodeID(raw: Int(p)) : nil
  }

  /// The nodes reading `value`, in the order they were indexed.
  func consumers(of value: String) -> [NodeID] { id(of: value).map { uses[Int($0)].readers } ?? [] }

  /// Indexes one node's wiring (names already interned into `inputs` and `outputs`, `noName`
  /// for an omitted one) and its subgraphs' outer references.
  mutating func add(_ id: NodeID, inputs: ArraySlice<NameID>, outputs: ArraySlice<NameID>, attributes: [Onnx_AttributeProto]) {
    precondition(id.raw <= Int32.max, "a graph of more than 2³¹ node slots")
    for o in outputs where o != noName { uses[Int(o)].producer = Int32(id.raw) }
    for x in inputs where x != noName { uses[Int(x)].addReader(id) }
    for r in GraphIndex.references(of: attributes) { subgraphReferences[r, default: 0] += 1 }
  }

  /// Undoes `add`, but for the reservations.
  mutating func remove(_ id: NodeID, inputs: ArraySlice<NameID>, outputs: ArraySlice<NameID>, attributes: [Onnx_AttributeProto]) {
    for o in outputs where o != noName && uses[Int(o)].producer == Int32(id.raw) { uses[Int(o)].producer = -1 }
    for x in Set(inputs) where x != noName { uses[Int(x)].removeReader(id) }
    for r in GraphIndex.references(of: attributes) {
      let left = (subgraphReferences[r] ?? 1) - 1
      subgraphReferences[r] = left > 0 ? left : nil
    }
  }

  /// Makes room for `count` more names without rehashing.
  mutating func reserveCapacity(names count: Int) {
    names.reserveCapacity(count)
    uses.reserveCapacity(uses.count + count)
  }

  /// What the index says about the graph's wiring (not its reservations), by name, consumer
  /// lists sorted: for comparing two indexes.
  var normalized: Wiring {
    var producers: [String: NodeID] = [:]
    var consumers: [String: [NodeID]] = [:]
    for (k, u) in uses.enumerated() {
      if u.producer >= 0 { producers[names.string(NameID(k))] = NodeID(raw: Int(u.producer)) }
      if u.reader >= 0 { consumers[names.string(NameID(k))] = u.readers.sorted() }
    }
    return Wiring(
      producers: producers, consumers: consumers, initializers: initializers, graphInputs: graphInputs,
      graphOutputs: graphOutputs, subgraphReferences: subgraphReferences)
  }

  /// Whether the name table is one-to-one, with a record per name.
  var namesAreConsistent: Bool { uses.count == names.count && names.isConsistent }

  /// The index's wiring alone, comparable.
  struct Wiring: Equatable {
    let producers: [String: NodeID]
    let consumers: [String: [NodeID]]
    let initializers: [String: Int]
    let graphInputs: Set<String>
    let graphOutputs: Set<String>
    let subgraphReferences: [String: Int]
  }

  /// Every value name the subgraphs in `attributes` (recursively) read; over-approximates outer
  /// references, which only makes removal more cautious.
  static func references(of attributes: [Onnx_AttributeProto]) -> Set<String> {
    var set: Set<String> = []
    for a in attributes {
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

  /// Every name declared inside the subgraphs in `attributes` (values, nodes, initializers), so
  /// new names never shadow them.
  static func declaredNames(of attributes: [Onnx_AttributeProto], into set: inout [String]) {
    for a in attributes {
      if a.hasG { declaredNames(a.g, into: &set) }
      for g in a.graphs { declaredNames(g, into: &set) }
    }
  }

  private static func declaredNames(_ g: Onnx_GraphProto, into set: inout [String]) {
    set += g.input.map(\.name) + g.output.map(\.name) + g.valueInfo.map(\.name) + g.initializer.map(\.name)
    for n in g.node {
      set.append(n.name)
      set += n.output
      declaredNames(of: n.attribute, into: &set)
    }
  }
}

/// The number of a name in a graph's name table (`GraphIndex`).
typealias NameID = Int32

/// The `NameID` of "": an omitted input or output, a node without a name.
let noName: NameID = -1

