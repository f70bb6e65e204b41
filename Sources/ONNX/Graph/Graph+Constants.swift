internal import ONNXProto

extension Graph {
  /// Largest `ConstantOfShape` folded into a constant: bigger fills are left to the runtime, so a
  /// tiny file cannot make the tool allocate gigabytes.
  static let maxFoldedElements = 1 << 26

  /// The ops whose output can be a constant (`constant(_:)`), and that `removeUnused` removes.
  static let constantOps: Set<String> = ["Constant", "ConstantOfShape"]

  /// The constant behind `value`, or nil when it is computed at run time.
  ///
  /// Initializers, `Constant` nodes (value, value_float(s), value_int(s)) and `ConstantOfShape`
  /// nodes with a constant, valid shape of at most `maxFoldedElements` elements are constants;
  /// anything else is not.
  /// - Throws: `ONNXError` when a constant's stored data is malformed.
  public func constant(_ value: String) throws -> ConstantValue? {
    if let i = index.initializers[value], let t = initializerSlots[i] {
      let source: ConstantValue.Source =
        index.graphInputs.contains(value) ? .initializerAndGraphInput : .initializer
      return ConstantValue(name: value, source: source, tensor: t, shared: sharedFloats[i])
    }
    // Only Constant and ConstantOfShape nodes are rebuilt as protobuf nodes to be read.
    guard let p = index.producer(of: value), isDefaultDomain(p.raw, oneOf: Graph.constantOps) else { return nil }
    let node = nodeProto(p.raw)
    let nodeName = node.name.isEmpty ? value : node.name
    switch node.opType {
    case "Constant":
      guard let tensor = constantNodeTensor(node) else { return nil }
      return ConstantValue(name: value, source: .constantNode(nodeName), tensor: tensor)
    case "ConstantOfShape":
      guard let shapeName = node.input.first, let shape = try constant(shapeName) else { return nil }
      guard let dims = Graph.foldableDims(try shape.int64s()) else { return nil }
      let count = dims.reduce(1, *)  // bounded by foldableDims
      var fill: Float = 0
      var type = ElementType.float
      if let t = node.attribute.first(where: { $0.name == "value" })?.t {
        guard let ft = ElementType(t.dataType), let v = try t.floatValues().first else { return nil }
        fill = v
        type = ft
      }
      let t = Onnx_TensorProto.makeFloats(
        [Float](repeating: fill, count: count), shape: dims, name: value, dataType: type.dataType)
      return ConstantValue(name: value, source: .constantOfShape(nodeName), tensor: t)
    default:
      return nil
    }
  }

  /// The dims of a `ConstantOfShape` worth folding: none negative, product ≤ `maxFoldedElements`.
  static func foldableDims(_ raw: [Int64]) -> [Int]? {
    var count = 1
    var dims: [Int] = []
    for d in raw {
      guard d >= 0, d <= Int64(maxFoldedElements) else { return nil }
      count *= Int(d)  // each factor ≤ 2^26 and the running product is checked below: no overflow
      guard count <= maxFoldedElements else { return nil }
      dims.append(Int(d))
    }
    return dims
  }

  private func constantNodeTensor(_ node: Onnx_NodeProto) -> Onnx_TensorProto? {
    let name = node.output.first ?? ""
    for a in node.attribute {
      switch a.name {
      case "value": return a.t
      case "value_float": return Onnx_TensorProto.makeFloats([a.f], shape: [], name: name, dataType: .float)
      case "value_floats":
        return Onnx_TensorProto.makeFloats(a.floats, shape: [a.floats.count], name: name, dataType: .float)
      case "value_int": return Onnx_TensorProto.makeInt64s([a.i], shape: [], name: name)
      case "value_ints": return Onnx_TensorProto.makeInt64s(a.ints, shape: [a.ints.count], name: name)
      default: continue
      }
    }
    return nil
  }
}
