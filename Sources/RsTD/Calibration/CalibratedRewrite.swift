import Executor
import ONNX
import TensorAlgebra

extension Rewriter {
  /// Measured attempts of the calibrated allocation under a bound before it leaves the model to
  /// the back-off (`rewriteMeasured`).
  static let calibratedAttempts = 6

  /// Ranks by measured end-to-end error on response curves (docs/calibration.md, "Calibrated
  /// allocation"), or nil when it does not apply: it needs `--fit responses` (and `--allocation`
  /// left at responses), the factorized layout, fp32 weights, svd or auto, and `--ratio` or an
  /// output bound.
  ///
  /// Each eligible site (`respondsToFit`, opened by the plan: factored, or kept by the budget or a
  /// weight-error bound) gets its options with their response errors d (`calibratedSites`: svd's
  /// response curve from the bench's output covariance; under `--method mixed` also spatial and
  /// tucker2 points) and one probe (the site alone at its reference option) for its sensitivity
  /// g, one for all its formats; the model's error is estimated as √(Σ g²·d²); a second probe at
  /// the option a first allocation gives each site (in whatever format) refines g there. Under
  /// `--ratio` the estimate is minimised at the budget (`allocate(curves:budget:)`); under a bound the cheapest choice with estimate ≤ the target
  /// (`allocate(curves:errorBound:)`) is measured and the target tightened by the measured
  /// excess until the measurement meets the bound. Returns nil when no measured attempt does
  /// (the back-off then takes over, with the bench's run count kept). Other sites keep their plan.
  /// Model runs: probe inputs × (up to 2 × sites, 3 × under a budget with aligned ranks) + inputs ×
  /// (1 + attempts).
  func rewriteCalibrated(
    _ prepared: PreparedRewrite, original: Model, compiled: Executor?, bench: inout OutputBench, bound: Double?,
    into model: inout Model
  ) throws -> RewriteOutcome? {
    guard options.allocation == .responses, options.fit == .responses, options.layout == .factorized, options.weights == .fp32,
      [.svd, .auto, .spatial, .mixed].contains(options.method)
    else { return nil }
    var ratio: Double?
    if case .ratio(let r) = options.ranks { ratio = r }
    guard ratio != nil || bound != nil else { return nil }
    let base = try refitToResponses(prepared, graph: original.graph, statistics: bench.statistics)
    var sites = try calibratedSites(base, graph: original.graph, statistics: bench.statistics)
    guard !sites.isEmpty else { return nil }

    // Sensitivities: the site alone at `rank` of each (site, rank) job, on the probe inputs; more
    // jobs than `probeGroupLimit` in groups of distinct sites, each job taking a share of its
    // group's error by its response error d (so g = e / d is the group's E / √Σd²).
    var groupedProbes = false
    let allSites = base.sitesInOrder.map(\.site)
    func probe(_ jobs: [(site: Int, point: CurvePoint)], _ what: String) throws {
      let fits = try parallelMap(jobs) { j in try responseFit(sites[j.site], j.point, graph: original.graph) }
      let groups = Rewriter.calibrationProbeGroups(jobs.map(\.site))
      for (n, group) in groups.enumerated() {
        progress?(group.count == 1 ? "probing site \(n + 1) of \(groups.count) (\(what))" : "probing group \(n + 1) of \(groups.count) (\(what), \(group.count) sites)")
        var fitsOf: [Int: Factorization?] = [:]
        for j in group { fitsOf[sites[jobs[j].site].index] = .some(fits[j]) }
        let probed = calibrated(base, sites, fits: fitsOf)
        let indices = fitsOf.keys.sorted()
        let e = try probeError(
          &bench, changing: Set(indices.compactMap { allSites[$0].node.outputs.first }), original: original,
          inputs: bench.probeInputs(options.check.probeSamples),
          edit: { try emitSites(indices, of: probed, sites: allSites, into: &$0) },
          whole: {
            let withheld = Dictionary(uniqueKeysWithValues: (0..<base.siteCount).filter { fitsOf[$0] == nil }.map { ($0, SkipReason.notSelected) })
            var candidate = original
            _ = try apply(probed, to: &candidate, withholding: withheld)
            return candidate
          })
        let ds = group.map { sites[jobs[$0].site].responseError(jobs[$0].point) }
        for (j, (d, share)) in zip(group, zip(ds, Rewriter.probeShares(of: e, weights: ds))) {
          let job = jobs[j]
          // The reference probe comes first: whether it was alone decides what the row may claim.
          if sites[job.site].probes.isEmpty { sites[job.site].probedInGroup = group.count > 1 }
          sites[job.site].probes.append((d, share.isFinite ? min(share, 1e6) : 1e6))
          groupedProbes = groupedProbes || group.count > 1
          // What one probe measured, so that g = e / d can be compared across formats (docs/calibration.md).
          progress?("probed \(sites[job.site].site.node.outputs[0]) as \(job.point.format!.rawValue) \(job.point.ranks): d \(OutputMeasurement.format(d)), model error \(OutputMeasurement.format(share))\(group.count > 1 ? " (share of its group's)" : "")")
        }
      }
    }
    try probe(sites.indices.compactMap { n in sites[n].reference.map { (n, $0) } }, "reference ranks")

    // What the other sites hold, and the budget left to the calibrated ones.
    let planner = base.planner
    var budget: Int?
    var aligned = true
    if let ratio {
      var total = sites.reduce(0) { $0 + $1.keep.cost }
      var fixed = 0
      let open = Set(sites.map(\.index))
      for (i, site, plan) in base.sitesInOrder {
        guard !open.contains(i) else { continue }
        switch plan {
        case .factor(let m, let r):
          total += planner.objectiveCost(site, nil, ranks: [])
          fixed += planner.objectiveCost(site, planner.formatFor(m), ranks: r)
        case .keep(.excludedByBudget):
          let dense = planner.objectiveCost(site, nil, ranks: [])
          total += dense
          fixed += dense
        case .keep: continue
        }
      }
      let left = Int((Double(total) * ratio).rounded(.down)) - fixed
      func cheapest(_ a: Bool) -> Int { sites.reduce(0) { $0 + ($1.allocationCurve(aligned: a).map(\.cost).min() ?? 0) } }
      if cheapest(true) > left { aligned = false }
      if cheapest(false) > left {
        throw RewriteError.budgetTooSmall(
          ratio: ratio, minimum: Double(cheapest(false) + fixed) / Double(max(total, 1)), of: options.objective)
      }
      budget = left
    }
    var curves = sites.map { $0.allocationCurve(aligned: aligned) }
    // Refinement: probe each site again at the option a first allocation gives it (when that is
    // not the reference or kept whole), in whatever format, so that g is measured near where it
    // is used. Under a budget with aligned ranks, the unaligned first allocation's options are
    // probed too: its sites sit far below their aligned ranks, where g is otherwise extrapolated
    // from the reference probe (PP-OCR cls, 128 samples, --ratio 0.5 without the latency guard:
    // the unaligned choice was estimated at 0.10 and measured above 0.68).
    let first = budget.map { allocate(curves: curves, budget: $0) } ?? allocate(curves: curves, errorBound: bound!)
    var firsts = [first]
    if let budget, aligned { firsts.append(allocate(curves: sites.map { $0.allocationCurve(aligned: false) }, budget: budget)) }
    var refining: [(site: Int, point: CurvePoint)] = []
    for choice in firsts {
      for (n, p) in zip(sites.indices, choice) {
        let reference = sites[n].reference
        let same = p.format == reference?.format && p.ranks == reference?.ranks
        guard p.format != nil, !same, sites[n].responseError(p) != 0,
          !refining.contains(where: { $0.site == n && $0.point.format == p.format && $0.point.ranks == p.ranks })
        else { continue }
        refining.append((n, p))
      }
    }
    try probe(refining, "refining")
    curves = sites.map { $0.allocationCurve(aligned: aligned) }

    // Choose, emit, measure.
    var tried: [[String]: (Model, [SiteReport], OutputDifference?)] = [:]
    var preparedOf: [[String]: PreparedRewrite] = [:]
    func attempt(_ chosen: [CurvePoint]) throws -> (Model, [SiteReport], OutputDifference?) {
      let signature = choiceSignature(chosen)
      if let seen = tried[signature] { return seen }
      var fits = [Int: Factorization?]()
      let jobs = zip(sites, chosen).map { ($0, $1.format == nil ? nil : $1) }
      let made = try parallelMap(jobs) { s, p in
        try p.map { try responseFit(s, $0, graph: original.graph) }
      }
      for (s, f) in zip(sites, made) { fits[s.index] = .some(f) }
      var candidate = original
      let prepared = calibrated(base, sites, fits: fits)
      let rows = try apply(prepared, to: &candidate)
      let result = (candidate, rows, bench.difference(of: candidate))
      tried[signature] = result
      preparedOf[signature] = prepared
      return result
    }
    var accepted: (chosen: [CurvePoint], model: Model, rows: [SiteReport], difference: OutputDifference?)?
    var firstError: Double?
    var describe = "ratio \(ratio.map { "\($0)" } ?? "-")"
    if let budget {
      progress?("allocating the budget on response curves")
      // Water-filling on hulls is exact only for convex curves, and refined sensitivities g(d)
      // can make g·d non-convex; aligned ranks alone can be much coarser than the budget needs.
      // So the first allocation and, when ranks are aligned, the unaligned one (both fit the same
      // budget) are measured beside it, and the lowest measured error is kept (at most two more
      // passes over the inputs, only for choices that differ).
      var candidates = [allocate(curves: curves, budget: budget)]
      if let alternative = onCurves(first, curves) { candidates.append(alternative) }
      if aligned { candidates.append(allocate(curves: sites.map { $0.allocationCurve(aligned: false) }, budget: budget)) }
      var chosen = candidates[0]
      var (m, rows, d) = try attempt(chosen)
      for alternative in candidates.dropFirst() where !tried.keys.contains(choiceSignature(alternative)) {
        progress?("measuring another allocation of the same budget (estimate \(OutputMeasurement.format(estimatedError(alternative))) against \(OutputMeasurement.format(estimatedError(chosen))), measured \(OutputMeasurement.format(d?.error ?? .infinity)))")
        let other = try attempt(alternative)
        if (other.2?.error ?? .infinity) < (d?.error ?? .infinity) { (chosen, m, rows, d) = (alternative, other.0, other.1, other.2) }
      }
      firstError = d?.error ?? .infinity
      if bound == nil || (d?.error ?? .infinity) <= bound! { accepted = (chosen, m, rows, d) }
    }
    if accepted == nil, let bound {
      describe = "bound \(bound)"
      var target = bound
      for _ in 0..<Rewriter.calibratedAttempts where accepted == nil {
        progress?("allocating for an estimated error of \(OutputMeasurement.format(target))")
        let chosen = allocate(curves: curves, errorBound: target)
        let (m, rows, d) = try attempt(chosen)
        let measured = d?.error ?? .infinity
        if firstError == nil { firstError = measured }
        if measured <= bound {
          accepted = (chosen, m, rows, d)
        } else {
          // The estimate was optimistic by measured / estimate: aim that much lower (and at
          // least 10% lower, so that the choice changes).
          let estimate = estimatedError(chosen)
          target = measured.isFinite && estimate > 0 ? min(0.9 * target, 0.95 * bound * estimate / measured) : 0.5 * target
        }
      }
    }
    guard var a = accepted else { return nil }
    // Sequential correction of the accepted choice, kept only if the measured error does not grow
    // (each of its stages is also kept only then), so the bound still holds.
    if options.correctionStages > 0, let prepared = preparedOf[choiceSignature(a.chosen)] {
      let (corrected, measured) = try correctSequentially(
        prepared, original: original, compiled: compiled, bench: &bench, measured: a.difference)
      var candidate = original
      let rows = try apply(corrected, to: &candidate)
      // The correction's last run measured its model already, when it ran.
      if let d = measured ?? bench.difference(of: candidate), d.error <= (a.difference?.error ?? .infinity) {
        a = (a.chosen, candidate, rows, d)
      }
    }

    // Rows: each calibrated site's probe and its share of the estimate.
    model = a.model
    var rows = a.rows
    let estimate = estimatedError(a.chosen)
    let rowOf = rowIndexOfSite(base)
    for (s, p) in zip(sites, a.chosen) {
      let row = rowOf[s.index]
      rows[row].outputErrorAlone = s.reference == nil || s.probedInGroup ? nil : s.probeError
      rows[row].probeRank = s.reference?.ranks[0]
      rows[row].errorShare = estimate > 0 ? p.error * p.error / (estimate * estimate) : 0
    }
    let kept = zip(sites, a.chosen).filter { $0.1.format == nil }.count
    let probed = sites.filter { $0.reference != nil }.count
    let how = groupedProbes
      ? "probed in groups (more than \(Rewriter.probeGroupLimit) probes a stage: each a share of its group's measured error by its response error)"
      : "probed alone"
    let measurement = OutputMeasurement(
      status: .measured, inputs: bench.inputsDescription, bound: bound, outputError: a.difference?.error,
      outputErrors: a.difference?.perOutput, plannedError: firstError, sitesBackedOff: bound == nil ? 0 : kept,
      modelRuns: bench.runs, note: a.difference == nil ? "the rewritten model does not run in the executor" : nil,
      estimatedError: estimate,
      allocation: "calibrated (\(describe)): \(sites.count) sites on response curves, \(probed) \(how) "
        + "(d ≤ \(CalibratedSite.probeResponseError), \(bench.probeInputs(options.check.probeSamples)) input(s)), "
        + "\(sites.map(\.probes.count).reduce(0, +)) probes, \(kept) kept whole")
    return RewriteOutcome(sites: rows, measurement: measurement, latency: planner.latencyPrediction)
  }

  /// `points` (one per site) as the same choices on `curves` (same format and ranks, the
  /// curves' errors), or nil when a choice is not on its curve.
  private func onCurves(_ points: [CurvePoint], _ curves: [[CurvePoint]]) -> [CurvePoint]? {
    var out: [CurvePoint] = []
    for (p, curve) in zip(points, curves) {
      guard let q = curve.first(where: { $0.format == p.format && $0.ranks == p.ranks }) else { return nil }
      out.append(q)
    }
    return out.count == points.count ? out : nil
  }

  /// `base` with each calibrated site at its fit in `fits` (nil: kept whole, for the allocation's
  /// reason); calibrated sites missing from `fits` and the other sites keep `base`'s plan.
  private func calibrated(_ base: PreparedRewrite, _ sites: [CalibratedSite], fits: [Int: Factorization?]) -> PreparedRewrite {
    var plans = base.plans
    var keyOf = base.keyOf
    var factorizations = base.factorizations
    for s in sites {
      guard let entry = fits[s.index] else { continue }
      if let f = entry {
        let key = "\(s.site.key)|\(f.format.rawValue)|\(options.layout.rawValue)|\(f.ranks)|responses:\(s.site.node.outputs[0])"
        plans[s.index] = .factor(method: f.format, ranks: f.ranks)
        keyOf[s.index] = key
        factorizations[key] = .success(f)
      } else {
        let rank = s.reference?.ranks[0] ?? 0
        plans[s.index] = .keep(s.probedInGroup
          ? .calibratedAllocationInGroup(share: s.probeError, rank: rank) : .calibratedAllocation(alone: s.probeError, rank: rank))
        keyOf[s.index] = nil
      }
    }
    return PreparedRewrite(planner: base.planner, decisions: base.decisions, plans: plans, keyOf: keyOf, factorizations: factorizations)
  }
}
