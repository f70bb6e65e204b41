import Foundation
import ONNX
import TensorAlgebra

/// The rewriter: finds sites, plans them with all sites in view, factors them (in parallel),
/// emits their chains, and cleans up. The public entry point other Swift tools plug in.
public struct Rewriter {
  /// The version stamped into metadata_props and the report.
  public static let version = "0.1.0"

  /// Default-domain opsets the emitted chains are known to be valid for (onnx 1.23 defines 28).
  public static let supportedOpsets = 1...28

  public let options: RewriteOptions
  /// Called on the calling thread at each phase with a short status line (for a terminal).
  public var progress: ((String) -> Void)?

  public init(options: RewriteOptions, progress: ((String) -> Void)? = nil) {
    self.options = options
    self.progress = progress
  }

  /// Rewrites every eligible site of `model` in place.
  /// - Parameter model: the model; on return, rewritten, cleaned and topologically sorted.
  /// - Returns: one report row per Conv/Gemm/MatMul-like node, in file order.
  /// - Throws: `RewriteError` when the model cannot be rewritten at all, `ONNXError` on malformed
  ///   weights, `DecompositionError` when a decomposition fails.
  public func rewrite(_ model: inout Model) throws -> [SiteReport] {
    let imported = model.opsetVersion("")
    guard let opset = imported, Rewriter.supportedOpsets.contains(opset) else {
      throw RewriteError.unsupportedOpset(version: imported, supported: Rewriter.supportedOpsets)
    }
    let decisions = try SiteFinder(graph: model.graph, options: options).decisions()
    var sites: [(site: ConvSite, kernel: Tensor)] = []
    for case .rewrite(let site) in decisions {
      sites.append((site, try kernel(of: site, in: model.graph)))
    }
    let planner = Planner(options: options, opset: opset)
    progress?("planning \(sites.count) sites")
    let plans = try planner.plan(sites)

    // Factor each distinct (weight, format, ranks) once, in parallel; results keep input order.
    var keys: [String] = []
    var jobs: [Int] = []
    var keyOf = [Int: String]()
    for (i, p) in plans.enumerated() {
      guard case .factor(let m, let r) = p else { continue }
      let key = "\(sites[i].site.weightName)|\(sites[i].site.group)|\(m.rawValue)|\(options.layout.rawValue)|\(r)"
      keyOf[i] = key
      if !keys.contains(key) { keys.append(key); jobs.append(i) }
    }
    progress?("factoring \(jobs.count) kernels")
    let fits = try parallelMap(jobs) { i -> Result<Factorization, Error> in
      guard case .factor(let m, let r) = plans[i] else { fatalError("unreachable") }
      return Result { try planner.factor(sites[i], method: m, ranks: r) }
    }
    let factorizations = Dictionary(uniqueKeysWithValues: zip(keys, fits))

    var rows: [SiteReport] = []
    var shared: [String: String] = [:]
    var detached: Set<String> = []
    var siteIndex = 0
    for d in decisions {
      switch d {
      case .keep(let node, let reason):
        rows.append(keptRow(node: node, site: nil, reason: reason, graph: model.graph))
      case .rewrite(let site):
        defer { siteIndex += 1 }
        guard case .factor(let m, _) = plans[siteIndex], let key = keyOf[siteIndex] else {
          if case .keep(let reason) = plans[siteIndex] { rows.append(keptRow(node: site.node, site: site, reason: reason, graph: model.graph)) }
          continue
        }
        let f: Factorization
        switch factorizations[key]! {
        case .success(let value): f = value
        case .failure(PlanOutcome.boundNotMet(let bound)):
          rows.append(keptRow(node: site.node, site: site, reason: .noCompressionUnderBound(bound), graph: model.graph))
          continue
        case .failure(let error):
          rows.append(keptRow(node: site.node, site: site, reason: .decompositionFailed("\(error)"), graph: model.graph))
          continue
        }
        let format = planner.formatFor(m)
        guard let position = model.graph.producer(of: site.node.outputs[0]) else { continue }
        var emitter = ChainEmitter(graph: model.graph, site: site, factorKey: key, shared: shared)
        try format.emit(f, into: &emitter)
        model.graph = emitter.graph
        shared = emitter.shared
        model.graph.replaceNode(at: position, with: emitter.nodes)
        detached.insert(site.weightName)
        let cost = format.cost(site, ranks: f.ranks)
        rows.append(
          SiteReport(
            node: site.name, opType: site.kind.rawValue, weight: site.weightName,
            weightSource: site.weightSource.description, shape: site.weightShape, group: site.group,
            status: "rewritten", reason: nil, format: f.format.rawValue + (options.layout == .reconstructed ? " (reconstructed)" : ""),
            ranks: f.ranks, shuffle: f.shuffleDescription, paramsBefore: site.parameterCount,
            paramsAfter: cost.params, macsBefore: site.multiplyAdds, macsAfter: cost.multiplyAdds,
            relativeError: f.relativeError))
      }
    }
    progress?("emitting done; cleaning up")
    model.graph.removeUnused(detached)
    model.graph.topologicallySort()
    return rows
  }

  private func keptRow(node: Node, site: ConvSite?, reason: SkipReason, graph: Graph) -> SiteReport {
    // Shape and size of a constant weight even when the node is not a site.
    let weight = site?.weightName ?? (node.inputs.count > 1 ? node.inputs[1] : nil)
    let constant = site == nil ? weight.flatMap { try? graph.constant($0) } : nil
    let shape = site?.weightShape ?? constant?.shape ?? []
    let params = shape.isEmpty ? 0 : shape.reduce(1, *)
    return SiteReport(
      node: site?.name ?? SiteFinder.siteName(node), opType: node.opType, weight: weight,
      weightSource: site?.weightSource.description ?? constant?.source.description, shape: shape, group: site?.group ?? node.int("group", default: 1),
      status: "kept", reason: reason.description, format: nil, ranks: nil, shuffle: nil,
      paramsBefore: params, paramsAfter: params, macsBefore: params, macsAfter: params, relativeError: nil)
  }

  /// The site's weight as a float tensor shaped `site.weightShape` (Gemm/MatMul transposed to
  /// `[N_out, K_in]`).
  func kernel(of site: ConvSite, in graph: Graph) throws -> Tensor {
    guard let c = try graph.constant(site.weightName) else {
      preconditionFailure("site '\(site.name)' was found with a constant weight that is gone")
    }
    let t = Tensor(shape: c.shape, scalars: try c.floats())
    let stored = site.kind == .matMul || (site.kind == .gemm && site.node.int("transB", default: 0) == 0)
    return stored ? t.transposed([1, 0]) : t
  }
}
