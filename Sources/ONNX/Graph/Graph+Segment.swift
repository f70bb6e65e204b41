internal import ONNXProto

extension Graph {
  /// A graph of the nodes `ids` alone, under the same handles and in the order given (this
  /// graph's order), with the initializers they read, `inputs` declared as graph inputs (without
  /// types) and `outputs` as graph outputs: a stretch of the graph to edit and run on its own.
  /// The output check runs a probe's changed stretch so, and the rest from the original's plan
  /// (`Executor.resume(at:values:)`).
  ///
  /// Names outside the stretch are not reserved in it: a name made in it (`makeName`) is new to
  /// the stretch, not to this graph.
  /// - Complexity: O(slots) to lay out the handles, plus O(wiring of the kept nodes).
  public func segment(_ ids: [NodeID], inputs: [String], outputs: [String]) -> Graph {
    var g = Graph(irVersion: irVersion)
    g.header = header
    g.header.input = []
    g.header.output = []
    g.header.valueInfo = []
    g.nodeSlots = [NodeRecord?](repeating: nil, count: nodeSlots.count)
    g.nextSlot = [Int](repeating: -1, count: nodeSlots.count)
    g.previousSlot = [Int](repeating: -1, count: nodeSlots.count)
    var taken = Set<Int>()
    for id in ids {
      precondition(contains(id), "node \(id) is not in the graph")
      guard g.nodeSlots[id.raw] == nil else { continue }
      let node = nodeProto(id.raw)
      _ = g.link(g.makeRecord(node), inSlot: id.raw, before: -1)
      for x in node.input where !x.isEmpty {
        guard let slot = index.initializers[x], taken.insert(slot).inserted else { continue }
        g.appendInitializerSlot(initializerSlots[slot]!, values: sharedFloats[slot])
      }
    }
    for name in inputs { g.addInput(ValueInfo(name: name, dataType: nil, shape: nil)) }
    for name in outputs { g.addOutput(ValueInfo(name: name, dataType: nil, shape: nil)) }
    g.claimsTopologicalOrder = g.isTopologicallyOrdered
    g.checkInvariantsIfEnabled("segment")
    return g
  }
}
