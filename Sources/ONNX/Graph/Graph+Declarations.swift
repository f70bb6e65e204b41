internal import ONNXProto

/// Declared types (graph inputs, graph outputs, value_info) against what the file states
/// elsewhere. The tool writes every declaration back unchanged, so one that contradicts an
/// initializer or a node the tool reads would make its output invalid (onnx's checker with strict
/// shape inference refuses it; onnxruntime refuses some): such a model is refused up front.
extension Graph {
  /// Checks every initializer against its declarations (and, below IR 4, that it is a graph
  /// input), and the declared inputs and outputs of the ops the tool reads against the element
  /// type and rank (and, for the Conv family, the output dims) those ops give them.
  /// - Throws: `GraphError` naming the value, or the node, at fault.
  func validateDeclarations() throws {
    var declared: [String: [(kind: String, type: Onnx_TypeProto)]] = [:]
    for (kind, list) in [("graph input", header.input), ("graph output", header.output), ("value_info", header.valueInfo)] {
      for v in list { declared[v.name, default: []].append((kind, v.type)) }
    }
    for case let t? in initializerSlots {
      if irVersion < 4 && !index.graphInputs.contains(t.name) {
        throw GraphError.initializerNotInput(value: t.name, irVersion: irVersion)
      }
      let facts = TensorFacts(elemType: t.dataType, dims: t.shape)
      for d in declared[t.name] ?? [] {
        if let why = facts.conflict(with: d.type) { throw GraphError.declarationContradicts(value: t.name, kind: d.kind, why: why) }
      }
    }
    for s in orderedSlots {
      let n = nodeProto(s)
      guard n.domain.isEmpty || n.domain == "ai.onnx", Graph.declarationRules.contains(n.opType) else { continue }
      let named = n.input.enumerated().map { ("input", $0.offset, $0.element) } + n.output.enumerated().map { ("output", $0.offset, $0.element) }
      for (role, position, value) in named where !value.isEmpty {
        let name = n.name.isEmpty ? "\(n.opType)_\(n.output.first ?? "")" : n.name
        var facts = inputFacts(n, position)
        if role == "output" {
          do throws(ConvOutputShape.Invalid) { facts = try outputFacts(n, declared) } catch {
            throw GraphError.invalidNode(node: name, op: n.opType, why: error.why)
          }
        }
        for d in declared[value] ?? [] {
          if let why = facts.conflict(with: d.type) {
            throw GraphError.invalidNode(node: name, op: n.opType, why: "its \(role) '\(value)' (\(d.kind)) \(why)")
          }
        }
      }
    }
  }

  /// The ops whose declared inputs and outputs are checked: those the tool reads or rewrites.
  private static let declarationRules: Set<String> = ["Conv", "ConvTranspose", "ConvInteger", "Gemm", "MatMul"]

  /// The rank of a Conv-family node's data: its weight's, else the one its input declares.
  private func convRank(_ n: Onnx_NodeProto) -> Int? {
    if n.input.count > 1, let w = knownShape(n.input[1]) { return w.count }
    guard let x = n.input.first, index.graphInputs.contains(x), let v = header.input.first(where: { $0.name == x }),
      case .tensorType(let t)? = v.type.value, t.hasShape
    else { return nil }
    return t.shape.dim.count
  }

  /// The one element type T of the node's inputs (nil for ConvInteger, whose inputs may differ).
  private func inputType(_ n: Onnx_NodeProto) -> Int32? {
    n.opType == "ConvInteger" ? nil : n.input.lazy.compactMap { self.knownType($0) }.first
  }

  /// What input `position` of `n` must be: of type T; X and W of the data's rank and a bias of
  /// rank 1 (Conv family); A and B of rank 2 (Gemm).
  private func inputFacts(_ n: Onnx_NodeProto, _ position: Int) -> TensorFacts {
    var rank: Int? = nil
    switch n.opType {
    case "Conv", "ConvTranspose", "ConvInteger":
      if position < 2 { rank = convRank(n) } else if n.opType != "ConvInteger" { rank = 1 }
    case "Gemm": rank = position < 2 ? 2 : nil
    default: break
    }
    return TensorFacts(elemType: inputType(n), dims: rank.map { Array(repeating: nil, count: $0) })
  }

  /// What the output of `n` must be: of type T (INT32 for ConvInteger), of the data's rank with
  /// the dims the Conv family computes from its input's declared dims, of rank 2 for Gemm.
  /// - Throws: `ConvOutputShape.Invalid` when a Conv-family output dim has no size.
  private func outputFacts(
    _ n: Onnx_NodeProto, _ declared: [String: [(kind: String, type: Onnx_TypeProto)]]
  ) throws(ConvOutputShape.Invalid) -> TensorFacts {
    let type = n.opType == "ConvInteger" ? Int32(Onnx_TensorProto.DataType.int32.rawValue) : inputType(n)
    switch n.opType {
    case "Gemm": return TensorFacts(elemType: type, dims: [nil, nil])
    case "MatMul": return TensorFacts(elemType: type, dims: nil)
    default: break
    }
    guard let rank = convRank(n) else { return TensorFacts(elemType: type, dims: nil) }
    // The input's dims as its first shaped declaration gives them (checked against the rank above).
    var input = [Int?](repeating: nil, count: rank)
    if let x = n.input.first, let shape = declared[x]?.lazy.compactMap({ d -> Onnx_TensorShapeProto? in
      if case .tensorType(let t)? = d.type.value, t.hasShape { return t.shape } else { return nil }
    }).first, shape.dim.count == rank {
      input = shape.dim.map { if case .dimValue(let v)? = $0.value, v >= 0 { Int(v) } else { nil } }
    }
    let weight = n.input.count > 1 ? knownShape(n.input[1]) : nil
    return TensorFacts(elemType: type, dims: try ConvOutputShape.dims(Node(n), input: input, weight: weight))
  }
}

/// What a value is known to be: its element type and dims, each nil where unknown.
struct TensorFacts {
  var elemType: Int32?
  /// nil: rank unknown; a nil dim: that dim unknown.
  var dims: [Int?]?

  /// How `declared` contradicts these facts, nil when it does not. Symbolic and blank dims, an
  /// absent shape and element type 0 contradict nothing.
  func conflict(with declared: Onnx_TypeProto) -> String? {
    let t: Onnx_TypeProto.Tensor
    switch declared.value {
    case .tensorType(let tensor)?: t = tensor
    case .sequenceType?: return "is declared a sequence, not a tensor"
    case .mapType?: return "is declared a map, not a tensor"
    case .optionalType?: return "is declared an optional, not a tensor"
    case .sparseTensorType?: return "is declared a sparse tensor, not a tensor"
    case nil: return nil
    }
    if let e = elemType, t.elemType != 0, t.elemType != e {
      return "is declared \(Onnx_TensorProto.DataType.onnxName(of: t.elemType)) but is \(Onnx_TensorProto.DataType.onnxName(of: e))"
    }
    guard t.hasShape, let dims else { return nil }
    guard t.shape.dim.count == dims.count else { return "is declared with \(t.shape.dim.count) dims but has \(dims.count)" }
    for (axis, (d, known)) in zip(t.shape.dim, dims).enumerated() {
      if case .dimValue(let v)? = d.value, let known, v != Int64(known) {
        return "is declared with dim \(axis) = \(v) but it is \(known)"
      }
    }
    return nil
  }
}
