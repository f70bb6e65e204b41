import ONNX

/// Looks at every top-level node and decides whether it is a site to rewrite or kept, and why.
struct SiteFinder {
  let graph: Graph
  let options: RewriteOptions
  /// Throw on a weight that is a graph input (rewrite) instead of reporting it (inspect).
  var rejectsInputWeights = true

  /// Decisions for every Conv, ConvTranspose, ConvInteger, QLinearConv, Gemm and MatMul, in file order.
  func decisions() throws -> [SiteDecision] {
    var result: [SiteDecision] = []
    for position in 0..<graph.nodeCount {
      let node = graph.node(at: position)
      guard node.isDefaultDomain else { continue }
      switch node.opType {
      case "Conv", "Gemm", "MatMul":
        result.append(try decide(node))
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

  private func decide(_ node: Node) throws -> SiteDecision {
    let name = SiteFinder.siteName(node)
    if let g = options.exclude.first(where: { Glob($0).matches(name) }) {
      return .keep(node, .excluded(g))
    }
    if !options.include.isEmpty && !options.include.contains(where: { Glob($0).matches(name) }) {
      return .keep(node, .notSelected)
    }
    let kind: ConvSite.Kind = node.opType == "Conv" ? .conv : node.opType == "Gemm" ? .gemm : .matMul
    if kind != .conv && !options.includeLinear { return .keep(node, .linearNotRequested) }

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
    var shape = weight.shape
    var bias: String? = nil
    var group = 1
    switch kind {
    case .conv:
      guard (3...5).contains(shape.count) else { return .keep(node, .weightRank(shape.count)) }
      group = node.int("group", default: 1)
      if shape[1] == 1 && group > 1 { return .keep(node, .depthwise) }
      if node.inputs.count > 2 && !node.inputs[2].isEmpty { bias = node.inputs[2] }
    case .gemm:
      guard shape.count == 2 else { return .keep(node, .weightRank(shape.count)) }
      if node.int("transB", default: 0) == 0 { shape = [shape[1], shape[0]] }
      if node.inputs.count > 2 && !node.inputs[2].isEmpty { bias = node.inputs[2] }
    case .matMul:
      guard shape.count == 2 else { return .keep(node, .weightRank(shape.count)) }
      shape = [shape[1], shape[0]]
    }
    if shape[0] / group <= 1 || shape[1] * shape.dropFirst(2).reduce(1, *) <= 1 {
      return .keep(node, .rankOne)
    }
    return .rewrite(
      ConvSite(
        kind: kind, node: node, name: name, weightName: weightName, biasName: bias,
        weightShape: shape, group: group, elementType: type, weightSource: weight.source))
  }
}
