import ONNXProto

/// The main graph of a model, with producer/consumer indexes and constant lookup.
///
/// Only the top-level graph is edited; subgraphs (If/Loop/Scan bodies) are carried through
/// untouched, but their references to outer values count as uses.
public struct Graph {
  var proto: Onnx_GraphProto
  /// The model's IR version: below 4, initializers must also be graph inputs.
  let irVersion: Int
  var index: GraphIndex

  init(proto: Onnx_GraphProto, irVersion: Int) {
    self.proto = proto
    self.irVersion = irVersion
    self.index = GraphIndex(proto)
  }

  mutating func reindex() { index = GraphIndex(proto) }

  /// The nodes in file order.
  public var nodes: [Node] { proto.node.map(Node.init) }

  /// The node at `position` in file order.
  public func node(at position: Int) -> Node { Node(proto.node[position]) }

  /// Number of nodes.
  public var nodeCount: Int { proto.node.count }

  /// Names of the graph inputs that are not initializers.
  public var inputNames: [String] {
    proto.input.map(\.name).filter { index.initializers[$0] == nil }
  }

  /// Names of the graph outputs.
  public var outputNames: [String] { proto.output.map(\.name) }

  /// Position of the node producing `value`, nil for graph inputs, initializers and unknown names.
  public func producer(of value: String) -> Int? { index.producers[value] }

  /// Positions of the nodes reading `value`, in file order (top-level nodes only).
  public func consumers(of value: String) -> [Int] { index.consumers[value] ?? [] }

  /// Whether `value` is read from inside a subgraph or is a graph output.
  public func hasOtherUses(_ value: String) -> Bool {
    index.subgraphReferences.contains(value) || index.graphOutputs.contains(value)
  }

  /// The constant behind `value`, or nil when it is computed at run time.
  ///
  /// Initializers, `Constant` nodes (value, value_float, value_floats) and `ConstantOfShape`
  /// nodes with a constant shape input are constants; anything else is not.
  /// - Throws: `ONNXError` when a constant's stored data is malformed.
  public func constant(_ value: String) throws -> ConstantValue? {
    if let i = index.initializers[value] {
      let source: ConstantValue.Source =
        index.graphInputs.contains(value) ? .initializerAndGraphInput : .initializer
      return ConstantValue(name: value, source: source, tensor: proto.initializer[i])
    }
    guard let p = index.producers[value] else { return nil }
    let node = proto.node[p]
    guard node.domain.isEmpty || node.domain == "ai.onnx" else { return nil }
    switch node.opType {
    case "Constant":
      guard let tensor = constantNodeTensor(node) else { return nil }
      return ConstantValue(name: value, source: .constantNode(node.name.isEmpty ? value : node.name), tensor: tensor)
    case "ConstantOfShape":
      guard let shapeName = node.input.first, let shape = try constant(shapeName) else { return nil }
      let dims = try shape.int64s().map(Int.init)
      let fill = node.attribute.first { $0.name == "value" }?.t
      var t = Onnx_TensorProto.makeFloats(
        [Float](repeating: 0, count: dims.reduce(1, *)), shape: dims, name: value, dataType: .float)
      if let fill {
        let v = try fill.floatValues().first ?? 0
        guard let type = ElementType(fill.dataType) else { return nil }
        t = Onnx_TensorProto.makeFloats(
          [Float](repeating: v, count: dims.reduce(1, *)), shape: dims, name: value,
          dataType: type.dataType)
      }
      return ConstantValue(name: value, source: .constantOfShape(node.name.isEmpty ? value : node.name), tensor: t)
    default:
      return nil
    }
  }

  private func constantNodeTensor(_ node: Onnx_NodeProto) -> Onnx_TensorProto? {
    for a in node.attribute {
      switch a.name {
      case "value": return a.t
      case "value_float":
        return Onnx_TensorProto.makeFloats([a.f], shape: [], name: node.output.first ?? "", dataType: .float)
      case "value_floats":
        return Onnx_TensorProto.makeFloats(
          a.floats, shape: [a.floats.count], name: node.output.first ?? "", dataType: .float)
      case "value_int":
        return Onnx_TensorProto.makeInt64s([a.i], shape: [], name: node.output.first ?? "")
      case "value_ints":
        return Onnx_TensorProto.makeInt64s(a.ints, shape: [a.ints.count], name: node.output.first ?? "")
      default: continue
      }
    }
    return nil
  }
}
