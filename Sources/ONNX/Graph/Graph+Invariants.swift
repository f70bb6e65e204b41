import Foundation
internal import ONNXProto

extension Graph {
  /// Whether edits check the invariants after themselves: always in debug builds (the unit
  /// tests), and in release builds when ONNX_RSTD_CHECK_INVARIANTS=1 (the conformance suites).
  public static let checksInvariants: Bool =
    _isDebugAssertConfiguration() || ProcessInfo.processInfo.environment["ONNX_RSTD_CHECK_INVARIANTS"] == "1"

  /// What is broken in the graph's bookkeeping; empty when sound.
  ///
  /// Checks that the index equals one rebuilt from scratch, that the node list is consistently
  /// linked, that every value is defined once (SSA: no two nodes, and no node and initializer,
  /// define the same name), that every name in use is reserved, that shared initializer values
  /// belong to a live initializer of their size, and — while
  /// `claimsTopologicalOrder` — that every node reads only values defined before it.
  /// - Complexity: O(nodes + edges).
  public func invariantViolations() -> [String] {
    var problems: [String] = []
    let slots = orderedSlots
    if slots.count != nodeCount { problems.append("\(slots.count) linked nodes, count says \(nodeCount)") }
    if slots.count != nodeSlots.lazy.filter({ $0 != nil }).count { problems.append("a live node is not linked") }
    var fresh = GraphIndex()
    for (i, t) in initializerSlots.enumerated() { if let t { fresh.initializers[t.name] = i } }
    for (slot, values) in sharedFloats where initializerSlots[slot] == nil || initializerSlots[slot]!.rawData.count != values.count * 4 {
      problems.append("shared values of initializer slot \(slot) do not match its tensor")
    }
    for v in header.input { fresh.graphInputs.insert(v.name) }
    for v in header.output { fresh.graphOutputs.insert(v.name) }
    var defined = Set(fresh.initializers.keys).union(fresh.graphInputs)
    for s in slots {
      let n = nodeProto(s)
      for o in n.output where !o.isEmpty && !defined.insert(o).inserted {
        problems.append("value '\(o)' is defined twice (node '\(n.name)')")
      }
      fresh.add(
        NodeID(raw: s), inputs: ArraySlice(n.input.map { fresh.intern($0) }),
        outputs: ArraySlice(n.output.map { fresh.intern($0) }), attributes: n.attribute)
      for name in [n.name] + n.output + n.input where !name.isEmpty && !index.isReserved(name) {
        problems.append("name '\(name)' is in use but not reserved")
      }
    }
    if !index.namesAreConsistent { problems.append("the name table is not one-to-one") }
    if fresh.normalized != index.normalized { problems.append("the index differs from one rebuilt from the graph") }
    if claimsTopologicalOrder && !isTopologicallyOrdered { problems.append("nodes are not in topological order") }
    return problems
  }

  /// Stops the program when `invariantViolations()` finds anything: a broken graph is a bug in
  /// the code that edited it, never a property of the input.
  public func checkInvariants(after edit: String = "edit") {
    let problems = invariantViolations()
    precondition(problems.isEmpty, "graph invariants broken after \(edit): \(problems.joined(separator: "; "))")
  }

  func checkInvariantsIfEnabled(_ edit: @autoclosure () -> String) {
    if Graph.checksInvariants { checkInvariants(after: edit()) }
  }
}
