import Executor
import ONNX

/// A rewrite's rows and what the output check measured.
public struct RewriteOutcome: Sendable {
  public var sites: [SiteReport]
  public var measurement: OutputMeasurement
  /// How the sites' predicted latencies were made.
  public var latency: LatencyPrediction
}

extension Rewriter {
  /// Stricter rank policies tried per site before a site is kept whole.
  static let backOffLevels = 3

  /// Rewrites `model` in place and measures what that did to its outputs (`OutputCheck`).
  ///
  /// When the planned model moves the outputs by more than the bound, ranks are re-allocated
  /// by measured error (`OutputAllocation`): every rewritten site is probed alone at the
  /// planned policy (on `probeSamples` inputs), and its error at up to `backOffLevels` stricter
  /// ones (`RankPolicy.stricter`) estimated from how much closer their factors are; the
  /// allocation picks per site a level or the original kernel, and the result is measured
  /// (the budget tightened up to four times if the measurement disagrees). Only measured
  /// models are accepted, so the bound holds on the check inputs whatever the interactions
  /// between sites; the last resort keeps whole the sites that hurt most, as few as a binary
  /// search finds enough, and ends at the original model if need be.
  /// Sites are probed alone up to `probeGroupLimit` of them; beyond, in that many contiguous
  /// groups (each probe runs the model from its group on, about half of it on average, so
  /// probing every site of a model with thousands of layers alone costs sites × model: hours),
  /// each site taking a share of its group's measured error in proportion to its weight error
  /// (`probeShares`).
  /// Each probe starts from the original's values before its group's first site when they fit
  /// (`OutputBench.holdCuts`: probe inputs more partial runs of the original to hold them).
  /// Model runs: inputs × (2 + 5 + log₂ sites) + probe inputs × (1 + min(sites, `probeGroupLimit`)) at most.
  /// (`rewriteMeasured` adds the held-out measurement.)
  func rewriteOnCheckInputs(_ model: inout Model, rereading read: (() throws -> Model)? = nil) throws -> RewriteOutcome {
    guard options.check.enabled else {
      let weightFits = try prepare(&model)
      return RewriteOutcome(sites: try apply(weightFits, to: &model), measurement: .off(), latency: weightFits.planner.latencyPrediction)
    }
    if let storageBound = options.check.effectiveStorageBound(weights: options.weights) {
      return try rewriteHoldingStorage(&model, bound: storageBound, rereading: read)
    }
    let original = OriginalModel(model, read: read)
    let bound = options.check.effectiveBound(under: options.ranks, weights: options.weights)
    var check = options.check
    if let load = check.inputsFor {
      progress?("reading the calibration inputs")
      check.inputs = try load(original.model)
    }
    progress?("measuring where each layer runs")
    // Compiled once for the probe and the bench (decoding a large model's weights is not free).
    var compiled = try? Executor(model: original.model, options: OutputBench.executorOptions(check))
    let geometry = compiled.flatMap { probeGeometry(original.model, by: $0, check: check) } ?? .nominal
    // Weight fits watch no layer, so the original runs before planning and its plan is freed
    // (held through planning, it set the peak memory of large models); response fits watch the
    // layers the plan chose, and keep the plan for the refits.
    func runOriginal(watching: [String: Int], patches: [String: PatchSpec]) throws -> OutputBench {
      progress?("running the original model")
      return try OutputBench(original: original.model, check: check, seed: options.seed, watching: watching, patches: patches, compiled: compiled)
    }
    var early: Result<OutputBench, Error>?
    if options.fit != .responses {
      early = Result { try runOriginal(watching: [:], patches: [:]) }
      compiled = nil
    }
    let weightFits = try prepare(&model, geometry: geometry)
    var bench: OutputBench
    do {
      bench = try early?.get() ?? runOriginal(watching: responseSites(weightFits), patches: patchSites(weightFits))
    } catch let invalid as RewriteError {
      throw invalid
    } catch {
      let rows = try apply(weightFits, to: &model)
      let fallback = options.fit == .responses ? "; factors fitted to weights, not responses" : ""
      return RewriteOutcome(sites: rows, measurement: .unavailable("\(error)\(fallback)"), latency: weightFits.planner.latencyPrediction)
    }
    if let calibrated = try rewriteCalibrated(
      weightFits, original: original.model, compiled: compiled, bench: &bench, bound: bound, into: &model) {
      return calibrated
    }
    var prepared = try fitted(weightFits, graph: original.model.graph, bench: bench)
    var measured: OutputDifference?  // by the correction's last run, when it ran
    if options.fit == .responses {
      (prepared, measured) = try correctSequentially(prepared, original: original.model, compiled: compiled, bench: &bench)
    }
    // From here the original is needed only to back off (response fits keep its plan and
    // cuts): released, each rewritten layer's weights are freed as its chain replaces it.
    if options.fit != .responses { try original.release() }
    var rows = try apply(prepared, to: &model)
    // What factoring and emission freed (scratch on the workers' heaps, the replaced weights)
    // goes back before the check's plan grows, most of it on other threads' heaps.
    Executor.returnFreedMemory()
    progress?("measuring the rewritten model")
    // Nothing rewritten and kept weights stored as they were: the written graph computes what
    // the original does, so its outputs are the references (compiling it again would only add
    // a second plan of the whole model to the run's peak memory).
    let unchanged = options.weights == .fp32 && !rows.contains { $0.status == .rewritten }
    let planned = measured ?? (unchanged ? bench.unchanged : bench.difference(of: model))
    let plannedError = planned?.error ?? .infinity
    var final = planned
    var backedOff = 0
    var probing: String?  // how the back-off probed sites, when not each alone
    if let bound, plannedError > bound {
      // The planned model gives way to whichever candidate is accepted: let it go before the
      // candidates are built (it was a whole rewritten model beside them at the peak). On a
      // throw from here `model` is left empty.
      model = Model(graph: Graph(), opsets: [:])
      let original = try original.get()
      let siteRows = rowIndexOfSite(prepared)
      let active = (0..<prepared.siteCount).filter { rows[siteRows[$0]].status == .rewritten }
      let levels = try backOffLevels(prepared, original: original, bench: bench)
      var allocation = OutputAllocation(sites: active, levels: levels.count)
      let sites = prepared.sitesInOrder.map(\.site)
      let groups = Rewriter.probeGroups(active)
      if groups.count < active.count {
        let sizes = groups.map(\.count)
        probing = "\(active.count) sites probed in \(groups.count) groups of \(sizes.min()!)–\(sizes.max()!) (more than "
          + "\(Rewriter.probeGroupLimit) sites: each site's share of its group's measured error is estimated from its weight error)"
      }
      // Each probe keeps the original before its group's first site: it runs from there on the
      // original's values (bit for bit the same outputs), about half the model on average.
      progress?("holding the original's values before each probed group")
      let changed = groups.map { Set($0.compactMap { sites[$0].node.outputs.first }) }
      bench.holdCuts(
        original: original, groups: changed, probeInputs: bench.probeInputs(options.check.probeSamples),
        bytes: OutputBench.backOffHeldBytes)
      for (n, group) in groups.enumerated() {
        progress?(group.count == 1 ? "probing site \(n + 1) of \(groups.count)" : "probing group \(n + 1) of \(groups.count) (\(group.count) sites)")
        var choice = [Int](repeating: levels.count, count: prepared.siteCount)
        for s in group { choice[s] = 0 }
        // Weights stored as they were: the candidate differs from the original only at the
        // group's sites, whose stretch the probe builds and runs alone.
        let measured = try probeError(
          &bench, changing: changed[n], original: original,
          inputs: bench.probeInputs(options.check.probeSamples), stretches: options.weights == .fp32,
          edit: { try emitSites(group, of: prepared, sites: sites, into: &$0) },
          whole: {
            var candidate = original
            _ = try emit(levels, choice: choice, into: &candidate, reason: { _ in .notSelected })
            return candidate
          })
        let bases = group.map { prepared.outcome(ofSite: $0, sites[$0]) }
        let shares = Rewriter.probeShares(of: measured, weights: bases.map { $0?.error ?? 0 })
        for ((s, base), share) in zip(zip(group, bases), shares) {
          if group.count > 1 { allocation.recordGroup(site: s, size: group.count, error: measured) }
          // Gentler levels are not run: their error is the measured one scaled by how much closer
          // their factors are to the layer (response or weight error), checked when the
          // allocation's model is measured.
          for l in levels.indices {
            if let o = levels[l].outcome(ofSite: s, sites[s]) {
              let scale = l == 0 ? 1 : (base.map { $0.error > 0 ? o.error / $0.error : 0 } ?? 1)
              allocation.record(site: s, level: l, error: share * scale, params: o.params, dense: sites[s].parameterCount)
            } else {
              allocation.record(site: s, level: l, error: 0, params: sites[s].parameterCount, dense: sites[s].parameterCount, factored: false)
            }
          }
        }
      }
      bench.endStretchProbes()
      let kept = { (s: Int) in allocation.keptReason(site: s, bound: bound) }
      var accepted: (model: Model, rows: [SiteReport], difference: OutputDifference, choice: [Int])?
      for shrink in [1.0, 0.7, 0.5, 0.35, 0.25] where accepted == nil {
        progress?("allocating at \(shrink) × the bound")
        let choice = allocation.choose(budget: bound * shrink, siteCount: prepared.siteCount)
        var candidate = original
        let candidateRows = try emit(levels, choice: choice, into: &candidate, reason: kept)
        if let d = bench.difference(of: candidate), d.error <= bound { accepted = (candidate, candidateRows, d, choice) }
      }
      // Last resort: the planned ranks, with the k most harmful sites kept whole (k by bisection;
      // k = all sites is the original model).
      let order = allocation.byHarm
      var lo = 0, hi = active.count
      var best: (model: Model, rows: [SiteReport], difference: OutputDifference, choice: [Int])?
      while accepted == nil && hi - lo > 1 {
        let mid = (lo + hi) / 2
        progress?("keeping the \(mid) most harmful sites whole")
        var choice = [Int](repeating: 0, count: prepared.siteCount)
        for s in order.prefix(mid) { choice[s] = levels.count }
        var candidate = original
        let candidateRows = try emit(levels, choice: choice, into: &candidate, reason: kept)
        if let d = bench.difference(of: candidate), d.error <= bound {
          (hi, best) = (mid, (candidate, candidateRows, d, choice))
        } else {
          lo = mid
        }
      }
      if accepted == nil { accepted = best }
      if accepted == nil {
        // Every site whole: the original model, unless weight storage changed kept kernels.
        var choice = [Int](repeating: 0, count: prepared.siteCount)
        for s in active { choice[s] = levels.count }
        var whole = original
        let keptRows = try emit(levels, choice: choice, into: &whole, reason: kept)
        let d = options.weights == .fp32 ? bench.unchanged : bench.difference(of: whole)
        guard let d, d.error <= bound else {
          throw RewriteError.outputBoundNotMet(measured: d?.error ?? .infinity, bound: bound)
        }
        accepted = (whole, keptRows, d, choice)
      }
      let a = accepted!
      (model, rows, final) = (a.model, a.rows, a.difference)
      for s in active where a.choice[s] < levels.count {
        if rows[siteRows[s]].status == .rewritten {
          // A share of a group's error is an estimate, not a measurement of the site alone.
          rows[siteRows[s]].outputErrorAlone = allocation.probedAlone(site: s) ? allocation.error(site: s, level: a.choice[s]) : nil
        } else {
          rows[siteRows[s]].reason = kept(s).description  // kept at a gentler level: the check is why
        }
      }
      backedOff = active.filter { a.choice[$0] != 0 }.count
    }
    let measurement = OutputMeasurement(
      status: .measured, inputs: bench.inputsDescription, bound: bound, outputError: final.map(\.error),
      outputErrors: final?.perOutput, plannedError: plannedError, sitesBackedOff: backedOff,
      modelRuns: bench.runs, note: final == nil ? "the rewritten model does not run in the executor" : nil,
      allocation: probing)
    return RewriteOutcome(sites: rows, measurement: measurement, latency: weightFits.planner.latencyPrediction)
  }

  /// The positions each Conv/Gemm/MatMul runs at, from one run of the original (compiled as
  /// `executor`) on the check's first input, the same input the bench's first run uses; nil when
  /// it cannot run.
  private func probeGeometry(_ original: Model, by executor: Executor, check: OutputCheck) -> SiteGeometries? {
    if let given = check.inputs?.first {
      return GeometryProbe.measure(original, by: executor, input: given, described: "the first calibration sample")
    }
    guard let first = try? SyntheticInputs.make(
        count: 1, names: executor.plan.inputNames, declared: original.graph.inputs, overrides: check.inputShapes, seed: self.options.seed).first
    else { return nil }
    let shapes = first.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.shape.map(String.init).joined(separator: "x"))" }
    return GeometryProbe.measure(original, by: executor, input: first, described: "the first synthetic input (\(shapes.joined(separator: ", ")))")
  }

  /// The prepared rewrite at the planned policy, then at up to `backOffLevels` stricter ones.
  private func backOffLevels(_ prepared: PreparedRewrite, original: Model, bench: OutputBench) throws -> [PreparedRewrite] {
    var levels = [prepared]
    var policy = options.ranks
    while levels.count <= Rewriter.backOffLevels, let next = policy.stricter {
      progress?("planning the back-off level \(levels.count)")
      var o = options
      o.ranks = next
      o.backOffLevel = true
      var copy = original
      levels.append(try fitted(try Rewriter(options: o).prepare(&copy, geometry: prepared.planner.geometry), graph: original.graph, bench: bench))
      policy = next
    }
    return levels
  }

  /// `prepared` refitted to the responses the bench observed, under `--fit responses`.
  private func fitted(_ prepared: PreparedRewrite, graph: Graph, bench: OutputBench) throws -> PreparedRewrite {
    options.fit == .responses ? try refitToResponses(prepared, graph: graph, statistics: bench.statistics) : prepared
  }

  /// Emits each site at its chosen level into `model`; a choice of `levels.count` keeps the
  /// site whole, for `reason(site)`.
  private func emit(
    _ levels: [PreparedRewrite], choice: [Int], into model: inout Model, reason: (Int) -> SkipReason
  ) throws -> [SiteReport] {
    var withheld: [Int: SkipReason] = [:]
    var levelOf = choice
    for (s, l) in choice.enumerated() where l >= levels.count {
      withheld[s] = reason(s)
      levelOf[s] = 0
    }
    return try apply(.mixing(levels, choice: levelOf), to: &model, withholding: withheld)
  }

  /// The report row of each prepared site: rows follow the decisions one for one.
  func rowIndexOfSite(_ prepared: PreparedRewrite) -> [Int] {
    prepared.decisions.enumerated().compactMap { i, d in
      if case .rewrite = d { i } else { nil }
    }
  }
}
