import ONNX
import TensorAlgebra

/// What `inspect` says about one Conv/Gemm/MatMul-like node.
public struct SiteInspection: Codable, Equatable, Sendable {
  public var node: String
  public var opType: String
  public var weight: String?
  public var shape: [Int]
  public var group: Int
  public var params: Int
  /// Multiply-adds per output position.
  public var macs: Int
  public var constant: Bool
  /// Where a constant weight comes from; nil when it is computed at run time.
  public var weightSource: String?
  public var eligible: Bool
  public var reason: String?
  /// Smallest svd ranks of the [M, C·k…] unfolding (per group) keeping 90% / 99% of the
  /// spectral energy, and the full rank.
  public var rank90: Int?
  public var rank99: Int?
  public var fullRank: Int?
}

/// Lists every Conv, ConvTranspose, ConvInteger, QLinearConv, Gemm and MatMul with its weight,
/// costs, eligibility and energy ranks (Gemm/MatMul counted as eligible when linear layers are
/// included, as with `--include-linear`).
/// - Throws: `GraphError` or `ONNXError` for a model that breaks the spec (as a rewrite would),
///   `DecompositionError` if an SVD fails.
public func inspect(_ model: Model) throws -> [SiteInspection] {
  // The same checks as a rewrite, so no site reaches arithmetic unvalidated.
  var model = model
  try model.graph.validateStructure(opset: model.opsetVersion(""))
  var options = RewriteOptions()
  options.includeLinear = true
  var finder = SiteFinder(graph: model.graph, options: options)
  finder.rejectsInputWeights = false
  return try finder.decisions().map { d in
    switch d {
    case .rewrite(let site):
      let kernel = try site.kernel(in: model.graph)
      let spectra = try factorGroups(kernel, groups: site.group) {
        try singularValues($0.reshaped([$0.shape[0], $0.count / $0.shape[0]]))
      }
      let errors = combinedTruncationErrors(spectra)
      return SiteInspection(
        node: site.name, opType: site.kind.rawValue, weight: site.weightName, shape: site.weightShape,
        group: site.group, params: site.parameterCount, macs: site.multiplyAdds, constant: true,
        weightSource: site.weightSource.description, eligible: true, reason: nil,
        rank90: smallestRank(errors: errors, maxError: (0.1).squareRoot()),
        rank99: smallestRank(errors: errors, maxError: (0.01).squareRoot()), fullRank: errors.count - 1)
    case .keep(let node, let reason):
      let w = NodeWeight(node, graph: model.graph)
      return SiteInspection(
        node: SiteFinder.siteName(node), opType: node.opType, weight: w.name, shape: w.shape,
        group: node.int("group", default: 1), params: w.parameterCount, macs: w.parameterCount,
        constant: w.constant != nil, weightSource: w.constant?.source.description, eligible: false, reason: reason.description,
        rank90: nil, rank99: nil, fullRank: nil)
    }
  }
}
