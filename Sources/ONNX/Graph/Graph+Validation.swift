internal import ONNXProto

extension Graph {
  /// The dims of `name`: an initializer's (already checked by `checkStorage`), or those a graph
  /// input declares when every one is a number; nil for anything else.
  func knownShape(_ name: String) -> [Int]? {
    if let i = index.initializers[name], let t = initializerSlots[i] { return t.shape }
    guard index.graphInputs.contains(name), let v = header.input.first(where: { $0.name == name }),
      case .tensorType(let t)? = v.type.value, t.hasShape
    else { return nil }
    var dims: [Int] = []
    for d in t.shape.dim {
      guard case .dimValue(let n)? = d.value, n >= 0, n <= Int64(Int32.max) else { return nil }
      dims.append(Int(n))
    }
    return dims
  }

  /// The element type of `name`: an initializer's, or the one a graph input declares.
  func knownType(_ name: String) -> Int32? {
    if let i = index.initializers[name], let t = initializerSlots[i] { return t.dataType }
    guard index.graphInputs.contains(name), let v = header.input.first(where: { $0.name == name }),
      case .tensorType(let t)? = v.type.value, t.elemType != 0
    else { return nil }
    return t.elemType
  }

  /// The channel dim (axis 1) a graph input declares for `name`, nil when not a fixed number.
  private func declaredChannels(_ name: String) -> Int? {
    guard index.graphInputs.contains(name), index.initializers[name] == nil,
      let v = header.input.first(where: { $0.name == name }), case .tensorType(let t)? = v.type.value,
      t.shape.dim.count > 1, case .dimValue(let c)? = t.shape.dim[1].value, c > 0
    else { return nil }
    return Int(c)
  }

  /// Inputs and outputs allowed for the default-domain ops the rewriter reads or folds.
  private static let arities: [String: (inputs: ClosedRange<Int>, outputs: ClosedRange<Int>)] = [
    "Conv": (2...3, 1...1), "ConvTranspose": (2...3, 1...1), "Gemm": (2...3, 1...1),
    "MatMul": (2...2, 1...1), "Constant": (0...0, 1...1), "ConstantOfShape": (1...1, 1...1),
  ]

  /// Checks what every later step relies on: each value defined once, every input and graph
  /// output defined, no cycle, every initializer's (and Constant's) data matching its type and
  /// dims, and the input/output counts and attributes of the ops the tool reads (`OpRules`), and
  /// declarations that agree with them (`validateDeclarations()`). An unsorted but acyclic graph
  /// is sorted.
  /// - Throws: `GraphError` naming the first node or value at fault; `ONNXError` for a tensor
  ///   whose data disagrees with its dims or type.
  /// With `opset`, also that every default-domain op exists in the standard at that opset.
  /// - Complexity: O(nodes + edges), plus a sort when the file's order is not topological.
  public mutating func validateStructure(opset: Int? = nil) throws {
    guard (1...OperatorSets.newestIRVersion).contains(irVersion) else {
      throw GraphError.irVersion(irVersion, newest: OperatorSets.newestIRVersion)
    }
    // onnx's checker requires it; the tool writes it back unchanged.
    guard !header.name.isEmpty else { throw GraphError.unnamedGraph }
    for (what, list) in [("graph input", header.input), ("graph output", header.output), ("value_info", header.valueInfo)] {
      for v in list where v.name.isEmpty || v.type.value == nil {
        throw GraphError.incompleteValueInfo(kind: what, name: v.name)
      }
    }
    // A tensor of no element type cannot be fed or produced (onnx's checker and onnxruntime
    // refuse it). A missing shape ("any rank") is passed through: onnxruntime loads it.
    for (what, list) in [("graph input", header.input), ("graph output", header.output)] {
      for v in list where Graph.lacksElementType(v.type) { throw GraphError.noElementType(kind: what, name: v.name) }
    }
    var inputNames = Set<String>()
    for v in header.input where !inputNames.insert(v.name).inserted { throw GraphError.graphInputListedTwice(value: v.name) }
    var initializerNames = Set<String>()
    for case let t? in initializerSlots {
      guard !t.name.isEmpty else { throw GraphError.unnamedInitializer }
      guard initializerNames.insert(t.name).inserted else { throw GraphError.initializerListedTwice(value: t.name) }
      try t.checkStorage()
    }
    var defined = Set(index.initializers.keys).union(index.graphInputs)
    var schemas: [String: [String: OperatorSets.AttributeSpec]] = [:]  // by op type, at `opset`
    for s in orderedSlots {
      let n = nodeProto(s)
      let name = n.name.isEmpty ? "\(n.opType)_\(n.output.first ?? "")" : n.name
      for o in n.output where !o.isEmpty && !defined.insert(o).inserted {
        throw GraphError.valueDefinedTwice(value: o, node: name)
      }
      for a in n.attribute {
        if let why = AttributeFields.violation(a, irVersion: irVersion) { throw GraphError.invalidNode(node: name, op: n.opType, why: why) }
        if a.hasT { try a.t.checkStorage() }
        // Subgraphs are written back unchanged; onnx's checker wants each named, and their
        // nodes as valid as the main graph's.
        for g in (a.hasG ? [a.g] : []) + a.graphs {
          if let why = subgraphViolation(g, opset: opset, schemas: &schemas) {
            throw GraphError.invalidNode(node: name, op: n.opType, why: "attribute '\(a.name)' holds a graph \(why)")
          }
        }
      }
      if let opset, let error = schemaError(n, name: name, opset: opset, schemas: &schemas) { throw error }
      if let why = OpRules.violation(
        Node(n), weightShape: knownShape(n.input.count > 1 ? n.input[1] : ""),
        inputChannels: declaredChannels(n.input.first ?? ""), biasShape: knownShape(n.input.count > 2 ? n.input[2] : ""),
        inputTypes: n.input.map(knownType))
      {
        throw GraphError.invalidNode(node: name, op: n.opType, why: why)
      }
      if n.domain.isEmpty || n.domain == "ai.onnx", let a = Graph.arities[n.opType] {
        // Required inputs must be named; optional ones may be "" but not beyond the last.
        let required = n.input.prefix(a.inputs.lowerBound)
        guard a.inputs.contains(n.input.count), !required.contains("") else {
          throw GraphError.arity(node: name, op: n.opType, what: "inputs", count: n.input.count, allowed: a.inputs)
        }
        guard a.outputs.contains(n.output.count), !n.output.contains("") else {
          throw GraphError.arity(node: name, op: n.opType, what: "outputs", count: n.output.filter { !$0.isEmpty }.count, allowed: a.outputs)
        }
      }
    }
    for s in orderedSlots {
      let n = nodeProto(s)
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
        let stuck = orderedSlots.last.map(nodeProto)
        throw GraphError.cycle(node: stuck.map { $0.name.isEmpty ? $0.opType : $0.name } ?? "?")
      }
    }
    try validateDeclarations()
  }

  /// Whether `type` is a tensor of no element type, or a sequence, optional or map with no
  /// element (value) type or one that lacks it (onnx's checker and onnxruntime refuse them).
  static func lacksElementType(_ type: Onnx_TypeProto) -> Bool {
    switch type.value {
    case .tensorType(let t)?: t.elemType == 0
    case .sparseTensorType(let t)?: t.elemType == 0
    case .sequenceType(let t)?: !t.hasElemType || lacksElementType(t.elemType)
    case .optionalType(let t)?: !t.hasElemType || lacksElementType(t.elemType)
    case .mapType(let t)?: t.keyType == 0 || !t.hasValueType || lacksElementType(t.valueType)
    default: false
    }
  }

  /// What onnx's checker would refuse in subgraph `g` or the graphs nested in it: no name, or a
  /// default-domain node whose op is unknown or newer than `opset`, or whose attributes break
  /// its schema; nil when none.
  private func subgraphViolation(_ g: Onnx_GraphProto, opset: Int?, schemas: inout [String: [String: OperatorSets.AttributeSpec]]) -> String? {
    if g.name.isEmpty { return "with no name; ONNX requires one" }
    for n in g.node {
      if let opset, let error = schemaError(n, name: n.name.isEmpty ? n.opType : n.name, opset: opset, schemas: &schemas) {
        return "'\(g.name)' in which \(error)"
      }
      for a in n.attribute {
        for inner in (a.hasG ? [a.g] : []) + a.graphs {
          if let why = subgraphViolation(inner, opset: opset, schemas: &schemas) { return why }
        }
      }
    }
    return nil
  }

  /// Why a default-domain node breaks the standard at `opset` (its op unknown or newer, its
  /// attributes against the schema), nil when it does not or is of another domain.
  private func schemaError(_ n: Onnx_NodeProto, name: String, opset: Int, schemas: inout [String: [String: OperatorSets.AttributeSpec]]) -> GraphError? {
    guard n.domain.isEmpty || n.domain == "ai.onnx" else { return nil }
    guard let first = OperatorSets.firstOpset[n.opType] else { return .unknownOp(node: name, op: n.opType, opset: opset) }
    if first > opset { return .opTooNew(node: name, op: n.opType, since: first, opset: opset) }
    return attributeViolation(n, opset: opset, schemas: &schemas).map { .invalidNode(node: name, op: n.opType, why: $0) }
  }

  /// What onnx's checker says of `n`'s attributes against its op's schema at `opset`: a name the
  /// op does not define, a type other than the schema's, a required one missing (nodes of every
  /// op are written back unchanged, so one it refuses makes the output invalid).
  private func attributeViolation(_ n: Onnx_NodeProto, opset: Int, schemas: inout [String: [String: OperatorSets.AttributeSpec]]) -> String? {
    if schemas[n.opType] == nil { schemas[n.opType] = OperatorSets.attributes(of: n.opType, opset: opset) ?? [:] }
    let schema = schemas[n.opType]!
    for a in n.attribute where a.refAttrName.isEmpty {
      guard let spec = schema[a.name] else { return "attribute '\(a.name)' is not an attribute of \(n.opType) (opset \(opset))" }
      // Untyped attributes exist only below IR version 2 (AttributeFields checks that).
      if a.type.rawValue != 0 && a.type.rawValue != spec.type {
        let wanted = Onnx_AttributeProto.AttributeType(rawValue: spec.type) ?? .undefined
        return "attribute '\(a.name)' is typed \("\(a.type)".uppercased()) but \(n.opType) defines it as \("\(wanted)".uppercased())"
      }
    }
    let present = Set(n.attribute.map(\.name))
    if let missing = schema.filter({ $0.value.required && !present.contains($0.key) }).keys.sorted().first {
      return "the required attribute '\(missing)' is missing"
    }
    return nil
  }
}
