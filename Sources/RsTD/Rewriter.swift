import Foundation
import Executor
import ONNX
import TensorAlgebra

// The walk, one step after the other, none going back:
//  1. load      Model.load(path:) parses and checks the file (Sources/ONNX/IO).
//  2. validate  Graph.validateStructure(): SSA, defined inputs, no cycle, op arity, schemas.
//  3. sites     SiteFinder checks each Conv/Gemm/MatMul's numbers and decides rewrite or keep.
//  4. kernels   each site reads its own kernel in factor orientation (ConvSite.kernel(in:)),
//               decoded when planning or factoring needs it.
//  5. plan      Planner gives every site a format and ranks under the rank policy.
//  6. factor    each distinct (site key, format, ranks) is factored once, in parallel.
//  7. emit      a ChainEmitter builds each site's nodes and initializers; Graph.replace swaps
//               them in for the node in O(size of the chain).
//  8. clean     removeUnused drops the replaced weights, topologicallySort confirms the order.
//  9. save      Model.save writes the model (Rewriter+Run.swift), with the report.

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

  /// Rewrites every eligible site of `model` in place (`rewriteMeasured` without the measurement).
  /// - Parameter model: the model; on return, rewritten, cleaned and topologically sorted.
  /// - Returns: one report row per Conv/Gemm/MatMul-like node, in graph order.
  /// - Throws: `GraphError` or `RewriteError` when the model cannot be rewritten at all,
  ///   `ONNXError` on malformed weights, `DecompositionError` when a decomposition fails.
  public func rewrite(_ model: inout Model) throws -> [SiteReport] {
    try rewriteMeasured(&model).sites
  }

  /// Step 2 of the walk, once per rewrite (`rewriteMeasured` runs it before the output check runs
  /// the model): the opset is one the chains are valid for and the graph passes
  /// `Graph.validateStructure` (an unsorted graph is sorted).
  static func validate(_ model: inout Model) throws {
    try model.graph.validateStructure(opset: supportedOpset(of: model))
  }

  /// The model's default-domain opset, when the chains are valid for it.
  static func supportedOpset(of model: Model) throws -> Int {
    let imported = model.opsetVersion("")
    guard let opset = imported, Rewriter.supportedOpsets.contains(opset) else {
      throw RewriteError.unsupportedOpset(version: imported, supported: Rewriter.supportedOpsets)
    }
    return opset
  }

  /// Finds, plans and factors every site of `model` without editing it: the steps 3–6 of the walk
  /// (`model` passed step 2, `validate`; the back-off levels prepare copies of it).
  /// - Parameter geometry: where each site runs, for the latency guard (nominal unless measured).
  func prepare(_ model: inout Model, geometry: SiteGeometries = .nominal) throws -> PreparedRewrite {
    let opset = try Rewriter.supportedOpset(of: model)
    var decisions = try SiteFinder(graph: model.graph, options: options).decisions()
    var sites: [PlannedSite] = []
    let graph = SharedGraph(model.graph)
    for (i, d) in decisions.enumerated() {
      switch d {
      case .keep(let node, .malformed(let why)):
        throw RewriteError.malformedNode(node: SiteFinder.siteName(node), why: why)
      case .rewrite(let site):
        // Decoded here to check it, then dropped: the planner decodes each kernel when it needs it.
        if try site.kernel(in: model.graph).scalars.allSatisfy(\.isFinite) {
          sites.append(PlannedSite(site, in: graph))
        } else {
          decisions[i] = .keep(site.node, .nonFiniteWeight)
        }
      case .keep:
        continue
      }
    }
    let planner = Planner(options: options, opset: opset, geometry: geometry)
    progress?("planning \(sites.count) sites")
    let plans = try planner.plan(sites)

    // Factor each distinct (site key, format, ranks) once, in parallel; results keep input order.
    var keys: [String] = []
    var jobs: [Int] = []
    var keyOf = [Int: String]()
    var seen: Set<String> = []
    for (i, p) in plans.enumerated() {
      guard case .factor(let m, let r) = p else { continue }
      let key = "\(sites[i].site.key)|\(m.rawValue)|\(options.layout.rawValue)|\(r)"
      keyOf[i] = key
      if seen.insert(key).inserted { keys.append(key); jobs.append(i) }
    }
    progress?("factoring \(jobs.count) kernels")
    let fits = try parallelMap(jobs) { i -> Result<Factorization, Error> in
      guard case .factor(let m, let r) = plans[i] else { fatalError("unreachable") }
      return Result { try planner.factor(sites[i], method: m, ranks: r) }
    }
    // The shuffles' gather indices are reused while planning and factoring; after, they would
    // only add to the output check's peak (up to 32 MB of indices of sites already done).
    EntryShuffle.releaseCachedIndices()
    // The kernels and scratch the workers freed sit on their heaps, where the emission (on this
    // thread) cannot reuse them: handed back, they are not under the chains being built.
    Executor.returnFreedMemory()
    return PreparedRewrite(
      planner: planner, decisions: decisions, plans: plans, keyOf: keyOf,
      factorizations: Dictionary(uniqueKeysWithValues: zip(keys, fits)))
  }

  /// Emits the prepared chains into `model` (steps 7–8 of the walk).
  /// - Parameter withheld: sites (indices among the prepared sites) to keep, with the reason.
  func apply(
    _ prepared: PreparedRewrite, to model: inout Model, withholding withheld: [Int: SkipReason] = [:]
  ) throws -> [SiteReport] {
    var rows: [SiteReport] = []
    var shared: [String: String] = [:]
    var detached: Set<String> = []
    // Replaced weights leave the graph every few MB, not all at the end: once the caller holds
    // no other copy of the model, each is freed while the chains are built.
    var detachedElements = 0
    var siteIndex = 0
    // Room for the chains up front (a reconstructed one is ~25 nodes and ~7 initializers of its
    // own, its small constants being shared; a factored one a few): growing the graph's tables
    // by doubling cost more time and memory.
    // Withheld sites emit nothing: a back-off probe rewrites a few sites of thousands.
    let factored = prepared.plans.indices.count { i in
      if case .factor = prepared.plans[i], withheld[i] == nil { true } else { false }
    }
    let (nodes, initializers) = options.layout == .reconstructed ? (25, 7) : (3, 3)
    model.graph.reserveCapacity(nodes: nodes * factored, values: (nodes + initializers) * factored, initializers: initializers * factored)
    for d in prepared.decisions {
      switch d {
      case .keep(let node, let reason):
        rows.append(keptRow(node: node, site: nil, reason: reason, graph: model.graph, planner: nil))
      case .rewrite(let site):
        defer { siteIndex += 1 }
        if let reason = withheld[siteIndex] {
          rows.append(keptRow(node: site.node, site: site, reason: reason, graph: model.graph, planner: prepared.planner))
          continue
        }
        let plan = prepared.plans[siteIndex]
        guard case .factor(let m, _) = plan, let key = prepared.keyOf[siteIndex] else {
          if case .keep(let reason) = plan { rows.append(keptRow(node: site.node, site: site, reason: reason, graph: model.graph, planner: prepared.planner)) }
          continue
        }
        let f: Factorization
        switch prepared.factorizations[key]! {
        case .success(let value): f = value
        case .failure(PlanOutcome.boundNotMet(let bound)):
          rows.append(keptRow(node: site.node, site: site, reason: .noCompressionUnderBound(bound), graph: model.graph, planner: prepared.planner))
          continue
        case .failure(let error):
          rows.append(keptRow(node: site.node, site: site, reason: .decompositionFailed("\(error)"), graph: model.graph, planner: prepared.planner))
          continue
        }
        let format = prepared.planner.formatFor(m)
        let storage = SiteStorage(options, weight: site.weightName, elementType: site.elementType, opset: prepared.planner.opset).storage
        if let reason = try emit(f, format: format, site: site, key: key, storage: storage, into: &model.graph, shared: &shared) {
          rows.append(keptRow(node: site.node, site: site, reason: reason, graph: model.graph, planner: prepared.planner))
          continue
        }
        detached.insert(site.weightName)
        if f.bias != nil, let b = site.biasName { detached.insert(b) }
        detachedElements += site.parameterCount
        if detachedElements >= 1 << 20 || detached.count >= 256 {
          model.graph.removeUnused(detached)  // O(graph inputs + value_info) each time
          (detached, detachedElements) = ([], 0)
          // The freed weights lie between the chains' small allocations, in pages the emission
          // only partly reuses: handed back now, not after it (a factored layout's peak).
          Executor.returnFreedMemory()
        }
        let cost = format.cost(site, ranks: f.ranks)
        rows.append(
          SiteReport(
            node: site.name, opType: site.kind.rawValue, weight: site.weightName,
            weightSource: site.weightSource.description, shape: site.weightShape, group: site.group,
            status: .rewritten, reason: nil,
            format: f.format.rawValue + (options.layout == .reconstructed ? " (reconstructed)" : "")
              + (f.fittedTo == FitTarget.responses.rawValue ? (f.corrected ? (f.correctedBoth ? " (responses, corrected both)" : " (responses, corrected)") : " (responses)") : ""),
            ranks: f.ranks, shuffle: f.shuffleDescription, paramsBefore: site.parameterCount,
            paramsAfter: cost.params, macsBefore: site.multiplyAdds, macsAfter: cost.multiplyAdds,
            relativeError: f.relativeError, lowRankError: f.lowRankError, weights: f.storage,
            siteOutputError: f.siteOutputError, siteOutputErrorUncorrected: f.siteOutputErrorUncorrected,
            predictedMicrosBefore: prepared.planner.denseLatency(site), predictedMicrosAfter: prepared.planner.latency(site, format, ranks: f.ranks)))
      }
    }
    try storeKeptWeights(in: &model.graph, rows: &rows, opset: prepared.planner.opset, detached: &detached)
    progress?("emitting done; cleaning up")
    model.graph.removeUnused(detached)
    model.graph.topologicallySort()
    return rows
  }

  /// Emits the sites `group` (indices among `sites`, the prepared sites in order) as `prepared`
  /// plans them into `graph`, and nothing else: what `apply` does to those sites when it
  /// withholds every other, without a report row per site. A back-off probe's stretch holds a few
  /// sites of thousands, so this is O(the group), where `apply` is O(sites) per probe.
  func emitSites(_ group: [Int], of prepared: PreparedRewrite, sites: [ConvSite], into graph: inout Graph) throws {
    var shared: [String: String] = [:]
    var detached: Set<String> = []
    for i in group {
      guard case .factor(let m, _) = prepared.plans[i], let key = prepared.keyOf[i], case .success(let f)? = prepared.factorizations[key]
      else { continue }
      let site = sites[i]
      let storage = SiteStorage(options, weight: site.weightName, elementType: site.elementType, opset: prepared.planner.opset).storage
      guard try emit(f, format: prepared.planner.formatFor(m), site: site, key: key, storage: storage, into: &graph, shared: &shared) == nil
      else { continue }
      detached.insert(site.weightName)
      if f.bias != nil, let b = site.biasName { detached.insert(b) }
    }
    graph.removeUnused(detached)
    graph.topologicallySort()
  }

  /// Emits `f`'s chain in place of the site's node, or leaves the graph as it was and returns why
  /// not. The emitter works on the graph itself (moved in and out, never copied), so one site
  /// costs O(its chain), not O(graph).
  private func emit(
    _ f: Factorization, format: any ConvFormat, site: ConvSite, key: String, storage: WeightStorage, into graph: inout Graph,
    shared: inout [String: String]
  ) throws -> SkipReason? {
    var emitter = ChainEmitter(graph: Graph(irVersion: graph.irVersion), site: site, factorKey: key, shared: [:], storage: storage)
    swap(&emitter.graph, &graph)
    swap(&emitter.shared, &shared)
    defer {
      swap(&emitter.graph, &graph)
      swap(&emitter.shared, &shared)
    }
    do {
      try format.emit(f, into: &emitter)
    } catch {
      emitter.rollBack()
      throw error
    }
    if let problem = emitter.problem {
      emitter.rollBack()
      return .notRepresentable(problem)
    }
    emitter.graph.replace(site.id, with: emitter.nodes)
    return nil
  }

  private func keptRow(node: Node, site: ConvSite?, reason: SkipReason, graph: Graph, planner: Planner?) -> SiteReport {
    // Shape and size of a constant weight even when the node is not a site.
    let weight = NodeWeight(node, graph: graph)
    let shape = site?.weightShape ?? weight.shape
    let params = site?.parameterCount ?? weight.parameterCount
    let micros = site.flatMap { s in planner.map { $0.denseLatency(s) } }
    return SiteReport(
      node: site?.name ?? SiteFinder.siteName(node), opType: node.opType, weight: site?.weightName ?? weight.name,
      weightSource: site?.weightSource.description ?? weight.constant?.source.description, shape: shape,
      group: site?.group ?? node.int("group", default: 1),
      status: .kept, reason: reason.description, format: nil, ranks: nil, shuffle: nil,
      paramsBefore: params, paramsAfter: params, macsBefore: params, macsAfter: params, relativeError: nil,
      predictedMicrosBefore: micros, predictedMicrosAfter: micros)
  }
}
