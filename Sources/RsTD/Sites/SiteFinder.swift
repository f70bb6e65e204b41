import ONNX

/// Looks at every top-level node and decides whether it is a site to rewrite or kept, and why.
///
/// Every number taken from the file (dims, group, spatial attributes) is checked here, before
/// any later step multiplies with it: a malformed node becomes `.keep(node, .malformed(...))`,
/// which the rewriter turns into an error naming the node.
struct SiteFinder {
  let graph: Graph
  let options: RewriteOptions
  /// Throw on a weight that is a graph input (rewrite) instead of reporting it (inspect).
  var rejectsInputWeights = true

  /// Decisions for every Conv, ConvTranspose, ConvInteger, QLinearConv, Gemm and MatMul, in graph order.
  func decisions() throws -> [SiteDecision] {
    var result: [SiteDecision] = []
    for id in graph.nodeIDs {
      let node = graph.node(id)
      guard node.isDefaultDomain else { continue }
      switch node.opType {
      case "Conv", "Gemm", "MatMul":
        result.append(try decide(node, id: id))
      case "ConvTranspose", "ConvInteger", "QLinearConv":
        result.append(.keep(node, .unsupportedOp(node.opType)))
      default:
        continue
      }
    }
    return result
  }

  /// The name a site goes by: the node's name, or its op and first output when unnamed.
  static func siteName(_ node: Node) -> String {
    node.name.isEmpty ? "\(node.opType)_\(node.outputs.first ?? "")" : node.name
  }

  private func decide(_ node: Node, id: NodeID) throws -> SiteDecision {
    let name = SiteFinder.siteName(node)
    if let g = options.exclude.first(where: { Glob($0).matches(name) }) {
      return .keep(node, .excluded(g))
    }
    if !options.include.isEmpty && !options.include.contains(where: { Glob($0).matches(name) }) {
      return .keep(node, .notSelected)
    }
    let kind: ConvSite.Kind = node.opType == "Conv" ? .conv : node.opType == "Gemm" ? .gemm : .matMul
    if kind != .conv && !options.includeLinear { return .keep(node, .linearNotRequested) }
    guard node.outputs.count == 1, !node.outputs[0].isEmpty else {
      return .keep(node, .malformed("\(node.opType) must have exactly one output"))
    }

    let weightName = node.inputs.count > 1 ? node.inputs[1] : ""
    guard let weight = try graph.constant(weightName) else {
      // A weight fed by the caller means the model was exported without its parameters: an
      // input error, not a layer to skip (inspect reports it instead of failing).
      if rejectsInputWeights && kind == .conv && graph.inputNames.contains(weightName) {
        throw RewriteError.weightIsGraphInput(node: name, weight: weightName)
      }
      return .keep(node, .weightNotConstant(weightName))
    }
    guard let type = weight.elementType else {
      return .keep(node, .unsupportedWeightType(weight.elementTypeName))
    }
    guard (weight.elementCount ?? 0) > 0 else {
      return .keep(node, .malformed("weight '\(weightName)' has dims \(weight.shape) (negative, zero or too many elements)"))
    }
    var shape = weight.shape
    var bias: String? = nil
    var group = 1
    var orientation = ConvSite.Orientation.asStored
    switch kind {
    case .conv:
      guard (3...5).contains(shape.count) else { return .keep(node, .weightRank(shape.count)) }
      if let why = ConvAttributes.check(node, weightShape: shape) { return .keep(node, .malformed(why)) }
      group = node.int("group", default: 1)
      if shape[1] == 1 && group > 1 { return .keep(node, .depthwise) }
      if node.inputs.count > 2 && !node.inputs[2].isEmpty { bias = node.inputs[2] }
    case .gemm:
      guard shape.count == 2 else { return .keep(node, .weightRank(shape.count)) }
      if node.int("transB", default: 0) == 0 { orientation = .transposed }
      if node.inputs.count > 2 && !node.inputs[2].isEmpty { bias = node.inputs[2] }
    case .matMul:
      guard shape.count == 2 else { return .keep(node, .weightRank(shape.count)) }
      orientation = .transposed
    }
    if orientation == .transposed { shape = [shape[1], shape[0]] }
    if shape[0] / group <= 1 || shape[1] * shape.dropFirst(2).reduce(1, *) <= 1 {
      return .keep(node, .rankOne)
    }
    return .rewrite(
      ConvSite(
        kind: kind, id: id, node: node, name: name, weightName: weightName, biasName: bias,
        weightShape: shape, orientation: orientation, group: group, elementType: type,
        weightSource: weight.source))
  }
}
