import ONNXProto

extension Graph {
  /// A name not used anywhere in the graph, derived from `base`, and reserves it.
  ///
  /// Returns `base` itself when free, else `base_1`, `base_2`, ...: names depend only on the
  /// graph and the order of requests, so output bytes are deterministic.
  public mutating func makeName(_ base: String) -> String {
    var candidate = base
    var k = 1
    while index.names.contains(candidate) {
      candidate = "\(base)_\(k)"
      k += 1
    }
    index.names.insert(candidate)
    return candidate
  }

  /// Replaces the node at `position` by `nodes`, inserted at the same place in order.
  ///
  /// The new nodes must read only values defined before `position` or by each other, which keeps
  /// the graph topologically sorted.
  public mutating func replaceNode(at position: Int, with nodes: [Node]) {
    proto.node.replaceSubrange(position...position, with: nodes.map(\.proto))
    reindex()
  }

  /// Adds a floating-point initializer stored in `type` (values rounded from Float).
  public mutating func addInitializer(name: String, values: [Float], shape: [Int], type: ElementType) {
    let t = Onnx_TensorProto.makeFloats(values, shape: shape, name: name, dataType: type.dataType)
    appendInitializer(t, elemType: type.dataType)
  }

  /// Adds an INT64 initializer.
  public mutating func addInitializer(name: String, int64s: [Int64], shape: [Int]) {
    appendInitializer(Onnx_TensorProto.makeInt64s(int64s, shape: shape, name: name), elemType: .int64)
  }

  private mutating func appendInitializer(_ t: Onnx_TensorProto, elemType: Onnx_TensorProto.DataType) {
    proto.initializer.append(t)
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
      proto.input.append(v)
    }
    reindex()
  }

  /// Removes the values in `candidates` that nothing reads any more, and, transitively, the
  /// `Constant`/`ConstantOfShape` nodes and initializers that only fed them.
  ///
  /// Only candidates and what they pull in are touched: unrelated unused values in the input model
  /// are preserved. Initializers leave the graph inputs too (IR < 4), and `value_info` entries of
  /// removed values are dropped.
  public mutating func removeUnused(_ candidates: Set<String>) {
    var pending = candidates
    var removed: Set<String> = []
    while let name = pending.popFirst() {
      guard !name.isEmpty, consumers(of: name).isEmpty, !hasOtherUses(name) else { continue }
      if let i = index.initializers[name] {
        proto.initializer.remove(at: i)
        if index.graphInputs.contains(name) { proto.input.removeAll { $0.name == name } }
        removed.insert(name)
        reindex()
      } else if let p = index.producers[name], isRemovableConstant(proto.node[p]) {
        let node = proto.node[p]
        guard node.output.allSatisfy({ consumers(of: $0).isEmpty && !hasOtherUses($0) }) else { continue }
        proto.node.remove(at: p)
        removed.formUnion(node.output)
        pending.formUnion(node.input)
        reindex()
      }
    }
    if !removed.isEmpty { proto.valueInfo.removeAll { removed.contains($0.name) } }
  }

  private func isRemovableConstant(_ n: Onnx_NodeProto) -> Bool {
    (n.domain.isEmpty || n.domain == "ai.onnx") && (n.opType == "Constant" || n.opType == "ConstantOfShape")
  }

  /// Restores topological order, moving nodes only when needed (a stable Kahn sort keyed on the
  /// current position). Cycles are left as they are.
  public mutating func topologicallySort() {
    let n = proto.node.count
    var available = Set(proto.initializer.map(\.name)).union(proto.input.map(\.name))
    available.insert("")
    var placed = [Bool](repeating: false, count: n)
    var order: [Int] = []
    order.reserveCapacity(n)
    var progress = true
    while order.count < n && progress {
      progress = false
      for i in 0..<n where !placed[i] {
        let node = proto.node[i]
        // Values produced by no node (outer scope, subgraph inputs) never block.
        if node.input.allSatisfy({ available.contains($0) || index.producers[$0] == nil }) {
          placed[i] = true
          order.append(i)
          available.formUnion(node.output)
          progress = true
        }
      }
    }
    if order.count < n { order += (0..<n).filter { !placed[$0] } }
    if order != Array(0..<n) {
      proto.node = order.map { proto.node[$0] }
      reindex()
    }
  }
}
