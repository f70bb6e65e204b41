extension Graph {
  /// Inputs and outputs allowed for the default-domain ops the rewriter reads or folds.
  private static let arities: [String: (inputs: ClosedRange<Int>, outputs: ClosedRange<Int>)] = [
    "Conv": (2...3, 1...1), "ConvTranspose": (2...3, 1...1), "Gemm": (2...3, 1...1),
    "MatMul": (2...2, 1...1), "Constant": (0...0, 1...1), "ConstantOfShape": (1...1, 1...1),
  ]

  /// Checks what every later step relies on: each value defined once, every input and graph
  /// output defined, no cycle, and the input/output counts of the ops the tool reads. An
  /// unsorted but acyclic graph is sorted.
  /// - Throws: `GraphError` naming the first node or value at fault.
  /// - Complexity: O(nodes + edges), plus a sort when the file's order is not topological.
  public mutating func validateStructure() throws {
    var defined = Set(index.initializers.keys).union(index.graphInputs)
    for s in orderedSlots {
      let n = nodeSlots[s]!
      let name = n.name.isEmpty ? "\(n.opType)_\(n.output.first ?? "")" : n.name
      for o in n.output where !o.isEmpty && !defined.insert(o).inserted {
        throw GraphError.valueDefinedTwice(value: o, node: name)
      }
      if n.domain.isEmpty || n.domain == "ai.onnx", let a = Graph.arities[n.opType] {
        // Trailing empty names are omitted optional inputs.
        let inputs = n.input.count - (n.input.reversed().prefix { $0.isEmpty }.count)
        guard a.inputs.contains(inputs) else {
          throw GraphError.arity(node: name, op: n.opType, what: "inputs", count: inputs, allowed: a.inputs)
        }
        guard a.outputs.contains(n.output.count), !n.output.contains("") else {
          throw GraphError.arity(node: name, op: n.opType, what: "outputs", count: n.output.filter { !$0.isEmpty }.count, allowed: a.outputs)
        }
      }
    }
    for s in orderedSlots {
      let n = nodeSlots[s]!
      for x in n.input where !x.isEmpty && !defined.contains(x) {
        throw GraphError.undefinedInput(node: n.name.isEmpty ? n.opType : n.name, value: x)
      }
    }
    var outputs: Set<String> = []
    for o in outputNames {
      guard outputs.insert(o).inserted else { throw GraphError.duplicateOutput(value: o) }
      guard defined.contains(o) else { throw GraphError.undefinedOutput(value: o) }
    }
    if !isTopologicallyOrdered {
      topologicallySort()
      if !claimsTopologicalOrder {
        let stuck = orderedSlots.last.flatMap { nodeSlots[$0] }
        throw GraphError.cycle(node: stuck.map { $0.name.isEmpty ? $0.opType : $0.name } ?? "?")
      }
    }
  }
}
