internal import ONNXProto

/// Edits. Each keeps the index (wiring and name reservations) in step at a cost proportional to
/// what it touches, then (in debug builds, or with ONNX_RSTD_CHECK_INVARIANTS=1) runs
/// `checkInvariants()`.
extension Graph {
  /// A name not used anywhere in the graph, derived from `base`, and reserves it for good.
  ///
  /// Returns `base` itself when free, else `base_1`, `base_2`, ...: names depend only on the
  /// graph and the order of requests, so output bytes are deterministic.
  public mutating func makeName(_ base: String) -> String { index.make(base) }

  /// Makes room for about `nodes` more nodes and `values` more values (node outputs and
  /// initializers), `initializers` of them initializers, so a large rewrite does not rehash its
  /// tables or regrow its arrays as it grows (doubling a list of 10⁵ initializers left a
  /// quarter of it unused at the peak). Only speed and memory depend on it.
  public mutating func reserveCapacity(nodes: Int, values: Int, initializers: Int = 0) {
    guard nodes > 0 || values > 0 || initializers > 0 else { return }
    initializerSlots.reserveCapacity(initializerSlots.count + initializers)
    nodeSlots.reserveCapacity(nodeSlots.count + nodes)
    wiring.reserveCapacity(wiring.count + 2 * values)
    nextSlot.reserveCapacity(nextSlot.count + nodes)
    previousSlot.reserveCapacity(previousSlot.count + nodes)
    index.reserveCapacity(names: nodes + values)
  }

  /// Replaces the node `id` by `nodes`, inserted at its place in order.
  ///
  /// The new nodes must read only values defined before `id` or by each other, which keeps the
  /// graph topologically sorted. Other nodes' handles stay valid; `id` becomes invalid.
  /// - Returns: the handles of the new nodes, in order.
  /// - Complexity: O(wiring of the removed and inserted nodes).
  @discardableResult
  public mutating func replace(_ id: NodeID, with nodes: [Node]) -> [NodeID] {
    precondition(contains(id), "node \(id) is not in the graph")
    let after = nextSlot[id.raw]
    unlinkNode(id.raw)
    let ids = nodes.map { n in
      precondition(!n.outputs.contains { !$0.isEmpty && isDefined($0) }, "node '\(n.name)' would define a value twice")
      return linkNode(n.proto, before: after)
    }
    checkInvariantsIfEnabled("replace \(id)")
    return ids
  }

  /// Inserts `nodes` just before the node `id`, in order (they must read only values defined
  /// before `id` or by each other, which keeps the graph topologically sorted).
  /// - Returns: the handles of the new nodes, in order.
  @discardableResult
  public mutating func insert(_ nodes: [Node], before id: NodeID) -> [NodeID] {
    precondition(contains(id), "node \(id) is not in the graph")
    let ids = nodes.map { n in
      precondition(!n.outputs.contains { !$0.isEmpty && isDefined($0) }, "node '\(n.name)' would define a value twice")
      return linkNode(n.proto, before: id.raw)
    }
    checkInvariantsIfEnabled("insert before \(id)")
    return ids
  }

  /// Makes input `position` of the node `id` read `value`, keeping everything else of the node
  /// (doc string, attributes of any kind) and its place in order.
  /// - Returns: the node's new handle (`id` becomes invalid).
  @discardableResult
  public mutating func setInput(of id: NodeID, at position: Int, to value: String) -> NodeID {
    precondition(contains(id), "node \(id) is not in the graph")
    let r = record(id.raw)
    var inputs = Array(inputIDs(r))
    precondition(inputs.indices.contains(position), "node \(id) has no input \(position)")
    inputs[position] = index.intern(value)
    let after = nextSlot[id.raw]
    unlinkNode(id.raw)
    let new = linkNode(rewired(r, inputs: inputs), before: after)
    checkInvariantsIfEnabled("set input \(position) of \(id)")
    return new
  }

  /// Appends `node` at the end of the graph (building a graph in memory).
  @discardableResult
  public mutating func append(_ node: Node) -> NodeID {
    precondition(!node.outputs.contains { !$0.isEmpty && isDefined($0) }, "node '\(node.name)' would define a value twice")
    let id = linkNode(node.proto, before: -1)
    // The last node can only break the order by defining a value some node already reads.
    if node.outputs.contains(where: { !$0.isEmpty && !consumers(of: $0).isEmpty }) { claimsTopologicalOrder = false }
    checkInvariantsIfEnabled("append \(id)")
    return id
  }

  /// Removes the node `id` (its outputs become undefined; callers rewire readers first).
  public mutating func remove(_ id: NodeID) {
    precondition(contains(id), "node \(id) is not in the graph")
    unlinkNode(id.raw)
    checkInvariantsIfEnabled("remove \(id)")
  }

  /// Adds a floating-point initializer stored in `type` (values rounded from Float).
  /// A FLOAT initializer shares `values`' storage (no copy).
  public mutating func addInitializer(name: String, values: [Float], shape: [Int], type: ElementType) {
    if type == .float {
      appendInitializer(SharedFloats.tensor(values, shape: shape, name: name), elemType: .float, values: values)
    } else {
      appendInitializer(Onnx_TensorProto.makeFloats(values, shape: shape, name: name, dataType: type.dataType), elemType: type.dataType)
    }
  }

  /// Adds an INT64 initializer.
  public mutating func addInitializer(name: String, int64s: [Int64], shape: [Int]) {
    appendInitializer(Onnx_TensorProto.makeInt64s(int64s, shape: shape, name: name), elemType: .int64)
  }

  /// Adds an INT8 initializer (a quantized weight).
  public mutating func addInitializer(name: String, int8s: [Int8], shape: [Int]) {
    appendInitializer(Onnx_TensorProto.makeInt8s(int8s, shape: shape, name: name), elemType: .int8)
  }

  private mutating func appendInitializer(_ t: Onnx_TensorProto, elemType: Onnx_TensorProto.DataType, values: [Float]? = nil) {
    precondition(!isDefined(t.name), "initializer '\(t.name)' would define a value twice")
    appendInitializerSlot(t, values: values)
    if irVersion < 4 {
      // Before IR 4 every initializer must also be declared as a graph input.
      var v = Onnx_ValueInfoProto()
      v.name = t.name
      v.type.tensorType.elemType = Int32(elemType.rawValue)
      v.type.tensorType.shape.dim = t.dims.map { d in
        var dim = Onnx_TensorShapeProto.Dimension()
        dim.dimValue = d
        return dim
      }
      header.input.append(v)
      index.graphInputs.insert(t.name)
    }
    checkInvariantsIfEnabled("add initializer '\(t.name)'")
  }

  /// Removes the values in `candidates` that nothing reads any more, and, transitively, the
  /// `Constant`/`ConstantOfShape` nodes and initializers that only fed them.
  ///
  /// Only candidates and what they pull in are touched: unrelated unused values in the input model
  /// are preserved. Initializers leave the graph inputs too (IR < 4), and `value_info` entries of
  /// removed values are dropped.
  /// - Complexity: O(removed values + graph inputs + value_info), once per call.
  public mutating func removeUnused(_ candidates: Set<String>) {
    var pending = candidates.sorted()
    var removed: Set<String> = []
    while let name = pending.popLast() {
      guard !name.isEmpty, consumers(of: name).isEmpty, !hasOtherUses(name) else { continue }
      if let i = index.initializers[name] {
        initializerSlots[i] = nil
        sharedFloats[i] = nil
        index.initializers[name] = nil
        index.graphInputs.remove(name)
        removed.insert(name)
      } else if let p = index.producer(of: name), isDefaultDomain(p.raw, oneOf: Graph.constantOps) {
        let r = record(p.raw)
        let outputs = names(outputIDs(r))
        guard outputs.allSatisfy({ consumers(of: $0).isEmpty && !hasOtherUses($0) }) else { continue }
        unlinkNode(p.raw)
        removed.formUnion(outputs)
        pending += names(inputIDs(r)).filter { !$0.isEmpty }
      }
    }
    if !removed.isEmpty {
      header.input.removeAll { removed.contains($0.name) }
      header.valueInfo.removeAll { removed.contains($0.name) }
    }
    checkInvariantsIfEnabled("remove unused values")
  }
}
