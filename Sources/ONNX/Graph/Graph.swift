import Foundation
internal import ONNXProto

/// The main graph of a model: nodes in order behind stable `NodeID` handles, initializers, and
/// producer/consumer indexes that every edit keeps in step.
///
/// Only the top-level graph is edited; subgraphs (If/Loop/Scan bodies) are carried through
/// untouched, but their references to outer values count as uses. Nodes live in slots addressed
/// by `NodeID` and are ordered by a doubly linked list, so replacing or removing one node costs
/// O(its wiring), never O(graph). A slot holds a `NodeRecord` (numbers into the index's name
/// table and the graph's kind and attribute tables), not a protobuf node.
public struct Graph {
  /// Everything but the nodes and initializers (name, inputs, outputs, value_info, ...).
  var header: Onnx_GraphProto
  /// The model's IR version: below 4, initializers must also be graph inputs.
  public let irVersion: Int

  /// The nodes (`NodeRecord`), by slot; removed ones leave `nil`.
  var nodeSlots: [NodeRecord?] = []
  var nextSlot: [Int] = []
  var previousSlot: [Int] = []
  var firstSlot = -1
  var lastSlot = -1
  /// Number of nodes in the graph.
  public private(set) var nodeCount = 0

  /// Initializers in file order; removed ones leave `nil` so other slots keep their numbers.
  var initializerSlots: [Onnx_TensorProto?] = []
  /// Slot → the values of a FLOAT initializer whose `raw_data` is a view of them
  /// (`SharedFloats`): readers get these, not a decoded copy.
  var sharedFloats: [Int: [Float]] = [:]
  var index = GraphIndex()
  /// The nodes' inputs and outputs, numbered in the index's name table; each record holds where
  /// its own start. A removed or rewired node's numbers stay behind (a rewrite leaves a few per
  /// replaced node).
  var wiring: [NameID] = []
  /// Op type, domain and rarer fields of the nodes, each distinct one stored once.
  var nodeKinds: [Onnx_NodeProto] = []
  var nodeKindIDs: [Onnx_NodeProto: Int32] = [:]
  /// Attribute lists of the nodes; equal lists of numbers and strings stored once.
  var attributeLists: [[Onnx_AttributeProto]] = []
  var attributeListIDs: [[Onnx_AttributeProto]: Int32] = [:]
  /// Whether the node order is known to be topological (checked when read, restored by
  /// `topologicallySort()`); the invariant check enforces it while true.
  public internal(set) var claimsTopologicalOrder = false

  /// The graph of `proto`, consumed: pass the last copy and each FLOAT initializer's protobuf
  /// bytes are freed as soon as they are decoded into its shared values (`SharedFloats`), so
  /// the model is never held twice while it loads.
  init(proto: consuming Onnx_GraphProto, irVersion: Int) {
    var header = consume proto
    var nodes = header.node
    var initializers = header.initializer
    header.node = []
    header.initializer = []
    self.header = header
    self.irVersion = irVersion
    for i in initializers.indices {
      let t = initializers[i]
      initializers[i] = Onnx_TensorProto()  // `t` is now the last holder of its bytes
      appendInitializerSlot(t)
    }
    for v in header.input { index.graphInputs.insert(v.name); index.reserve(v.name) }
    for v in header.output { index.graphOutputs.insert(v.name); index.reserve(v.name) }
    for v in header.valueInfo { index.reserve(v.name) }
    for i in nodes.indices {
      let n = nodes[i]
      nodes[i] = Onnx_NodeProto()  // its record replaces it (`linkNode`)
      _ = linkNode(n, before: -1)
    }
    claimsTopologicalOrder = isTopologicallyOrdered
  }

  /// An empty graph, for building one in memory.
  /// - Parameters:
  ///   - irVersion: the IR version of the model it belongs to (below 4, initializers are also
  ///     listed as graph inputs).
  ///   - name: the graph's name (ONNX requires one).
  public init(irVersion: Int = 8, name: String = "main") {
    var proto = Onnx_GraphProto()
    proto.name = name
    self.init(proto: proto, irVersion: irVersion)
  }

  /// The protobuf form: the header with nodes in order and the live initializers.
  var proto: Onnx_GraphProto {
    var g = header
    g.node = orderedSlots.map(nodeProto)
    g.initializer = initializerSlots.compactMap { $0 }
    return g
  }

  /// Slot numbers of the nodes in order.
  var orderedSlots: [Int] {
    var slots: [Int] = []
    slots.reserveCapacity(nodeCount)
    var s = firstSlot
    while s >= 0 { slots.append(s); s = nextSlot[s] }
    return slots
  }

  // MARK: - Reading

  /// Handles of the nodes, in graph order.
  public var nodeIDs: [NodeID] { orderedSlots.map { NodeID(raw: $0) } }

  /// The nodes, in graph order.
  public var nodes: [Node] { orderedSlots.map { node(NodeID(raw: $0)) } }

  /// Whether `id` names a node still in the graph.
  public func contains(_ id: NodeID) -> Bool {
    id.raw >= 0 && id.raw < nodeSlots.count && nodeSlots[id.raw] != nil
  }

  /// The node behind `id`.
  /// - Precondition: `contains(id)`.
  public func node(_ id: NodeID) -> Node {
    precondition(contains(id), "node \(id) is not in the graph")
    let r = record(id.raw), k = kind(r)
    return Node(
      name: name(r.name), opType: k.opType, domain: k.domain, inputs: names(inputIDs(r)), outputs: names(outputIDs(r)),
      attributes: attributes(r).map(Attribute.init))
  }

  /// The values the node `id` reads and writes ("" for an omitted one), without decoding its
  /// attributes as `node(_:)` does: a pass over the wiring of a large graph allocates nothing.
  /// - Precondition: `contains(id)`.
  public func wiring(_ id: NodeID) -> (inputs: [String], outputs: [String]) {
    precondition(contains(id), "node \(id) is not in the graph")
    let r = record(id.raw)
    return (names(inputIDs(r)), names(outputIDs(r)))
  }

  /// `ids` (nodes in the graph) in graph order, found by walking the order up to the last of
  /// them: O(its position), where a map of every node's position is O(graph) per call.
  public func inGraphOrder(_ ids: [NodeID]) -> [NodeID] {
    guard ids.count > 1 else { return ids }
    var wanted = Set(ids.map(\.raw))
    var ordered: [NodeID] = []
    var s = firstSlot
    while s >= 0 && !wanted.isEmpty {
      if wanted.remove(s) != nil { ordered.append(NodeID(raw: s)) }
      s = nextSlot[s]
    }
    return ordered
  }

  /// Names of the graph inputs that are not initializers.
  public var inputNames: [String] {
    header.input.map(\.name).filter { index.initializers[$0] == nil }
  }

  /// Names of the graph outputs.
  public var outputNames: [String] { header.output.map(\.name) }

  /// The node producing `value`; nil for graph inputs, initializers and unknown names.
  public func producer(of value: String) -> NodeID? { index.producer(of: value) }

  /// The nodes reading `value` (top-level nodes only), in the order they joined the graph.
  public func consumers(of value: String) -> [NodeID] { index.consumers(of: value) }

  /// Whether `value` is read from inside a subgraph or is a graph output.
  public func hasOtherUses(_ value: String) -> Bool {
    index.subgraphReferences[value] != nil || index.graphOutputs.contains(value)
  }

  /// Whether `value` is an initializer.
  public func isInitializer(_ value: String) -> Bool { index.initializers[value] != nil }

  /// Whether some node, initializer or graph input defines `value`.
  public func isDefined(_ value: String) -> Bool {
    index.producer(of: value) != nil || index.initializers[value] != nil || index.graphInputs.contains(value)
  }

  /// Whether every node reads only values defined before it (graph inputs, initializers, earlier
  /// outputs, or values no top-level node produces, such as outer-scope names).
  var isTopologicallyOrdered: Bool {
    var seen: Set<Int> = []
    var s = firstSlot
    while s >= 0 {
      for x in inputIDs(record(s)) where x != noName {
        if let p = index.producer(of: x), !seen.contains(p.raw) { return false }
      }
      seen.insert(s)
      s = nextSlot[s]
    }
    return true
  }

  // MARK: - Storage primitives (callers keep the index in step)

  /// Stores `t`; `values`: the values its `raw_data` already views, else a FLOAT tensor is
  /// decoded once here and its bytes rebuilt as a view of them.
  mutating func appendInitializerSlot(_ t: Onnx_TensorProto, values: [Float]? = nil) {
    let slot = initializerSlots.count
    index.initializers[t.name] = slot
    if let values {
      initializerSlots.append(t)
      sharedFloats[slot] = values
    } else if let shared = SharedFloats.share(t) {
      initializerSlots.append(shared.tensor)
      sharedFloats[slot] = shared.values
    } else {
      initializerSlots.append(t)
    }
    index.reserve(t.name)
  }

  /// Stores `node` in a new slot linked before slot `before` (-1: at the end), indexes it and
  /// reserves its names.
  mutating func linkNode(_ node: consuming Onnx_NodeProto, before: Int) -> NodeID {
    linkNode(makeRecord(node), before: before)
  }

  /// Stores `record` in a new slot linked before slot `before` (-1: at the end) and indexes it.
  mutating func linkNode(_ record: NodeRecord, before: Int) -> NodeID {
    let s = nodeSlots.count
    nodeSlots.append(nil)
    nextSlot.append(-1)
    previousSlot.append(-1)
    return link(record, inSlot: s, before: before)
  }

  /// Stores `record` in the empty slot `s` linked before slot `before` (-1: at the end), indexes
  /// it and reserves the names its subgraphs declare.
  mutating func link(_ record: NodeRecord, inSlot s: Int, before: Int) -> NodeID {
    nodeSlots[s] = record
    let prev = before < 0 ? lastSlot : previousSlot[before]
    nextSlot[s] = before
    previousSlot[s] = prev
    if prev >= 0 { nextSlot[prev] = s } else { firstSlot = s }
    if before >= 0 { previousSlot[before] = s } else { lastSlot = s }
    nodeCount += 1
    let id = NodeID(raw: s)
    let attributes = attributes(record)
    index.add(id, inputs: inputIDs(record), outputs: outputIDs(record), attributes: attributes)
    var inner: [String] = []
    GraphIndex.declaredNames(of: attributes, into: &inner)
    for n in inner { index.reserve(n) }
    return id
  }

  /// Unlinks and unindexes the node in slot `s`; its names stay reserved.
  mutating func unlinkNode(_ s: Int) {
    guard let r = nodeSlots[s] else { return }
    index.remove(NodeID(raw: s), inputs: inputIDs(r), outputs: outputIDs(r), attributes: attributes(r))
    let prev = previousSlot[s], next = nextSlot[s]
    if prev >= 0 { nextSlot[prev] = next } else { firstSlot = next }
    if next >= 0 { previousSlot[next] = prev } else { lastSlot = prev }
    nodeSlots[s] = nil
    nodeCount -= 1
  }
}
