import Executor
import ONNX
import TensorAlgebra

/// Sequential correction (Zhang et al., TPAMI 2016, asymmetric reconstruction): response-PCA
/// factors are fitted to the original network's responses, so a site never sees what its
/// compressed upstream does to its input. Here each response-fitted svd, tucker2, cp or spatial
/// site keeps its earlier factors and has its last conv (`LastFactor`: `Conv(1×1, r→M)`, or
/// spatial's `Conv(1×k2, r→M)` on z's patches) and bias refitted by least squares, so that fed
/// with the compressed network's own activations z it reproduces the original layer's output y
/// on the same calibration input: min Σ‖y − Wz − b‖² over all inputs and positions
/// (`LeastSquaresMoments`). Svd sites may instead get both factors by reduced-rank regression
/// on their input patches (`CorrectionRefit`), where that measures better.
extension Rewriter {
  /// Ridge of the refit, relative to the mean diagonal of the normal matrix.
  static let correctionRidge = 1e-6
  /// Pairs per unknown (r + 1 per output channel) a refit needs. Below it the fit interpolates
  /// the calibration inputs: measured on PP-OCR det's squeeze-excitation convs (one position per
  /// input after GlobalAveragePool, 8 inputs, r = 48), an exact fit of the gates raised the
  /// output error 0.284 → 0.291 on those very inputs.
  static let pairsPerUnknown = 4
  /// Pairs per unknown the fitting inputs give every correctable site (more inputs than
  /// `correctionSamples` when needed, up to all): a least-squares fit on m pairs with p unknowns
  /// per output overfits by about p/m, and neighbouring positions are correlated. Measured on the
  /// digits CNN (16 positions per input, r = 16): fitted on 8 of 64 inputs (~8 pairs per unknown) the
  /// correction lowered the error on those 8 and raised it on all 64, so it was not kept.
  static let fittingPairsPerUnknown = 64
  /// Bytes of the original's responses the correction holds for all its stages at once (one
  /// run of the original per fitting input instead of one per stage and input); above it, the
  /// original runs again per stage. PP-OCR det at 736, 16 fitting inputs: ~50–220 MiB (4–11 sites).
  static let heldResponseBytes = 512 << 20
  /// Bytes of one stage's patch moments for the two-factor refit, (D+1)(D+1+M) doubles per svd
  /// site (D = C·k1·k2 ≤ `PatchSpec.maxDimension`: at most 45 MiB): sites past it in a stage
  /// get the last-factor refit only.
  static let twoFactorBytes = 256 << 20

  /// `prepared` with its response-fitted sites corrected in `options.correctionStages`
  /// stages: the sites, in graph (topological) order, are split into K contiguous groups, and
  /// stage k refits its group on the activations of the model with stages < k corrected. Each
  /// stage is kept only if the measured output error on the fitting inputs does not grow; with
  /// `options.correctionBothFactors`, a stage whose svd sites have a better two-factor fit has
  /// that candidate measured too (n more runs), and the lower goes on.
  ///
  /// The fitting inputs are `options.correctionSamples` of the check inputs, evenly spread
  /// (`OutputBench.subset`), or more when a site needs them for `fittingPairsPerUnknown`, up to
  /// all. The original runs once per fitting input as far as the last stage's outputs y, held
  /// for all stages (`holdResponses`; above `heldResponseBytes` it runs again per stage and
  /// input, as far as that stage's y); per stage the compressed model runs once per fitting
  /// input (observing the first factors' outputs z, and its outputs, which measure the previous
  /// stage): n × (K + 2) runs for n fitting inputs, n of them partial, plus n for each stage
  /// not kept but the last. With fewer fitting inputs than check inputs the last measuring run
  /// covers every check input, and the result is kept
  /// only if its error on all of them is no larger than the uncorrected model's (`measured`, or
  /// measured by the first stage's run on every input when not given). Sites whose first factor
  /// cannot be observed are left as fitted. The correction stops, keeping what it has, if a
  /// candidate cannot be run.
  /// - Parameter measured: `prepared`'s model's difference on all check inputs, if known.
  /// - Returns: the rewrite, and its model's output difference on all check inputs when the
  ///   correction measured it, so that callers need not run it again.
  func correctSequentially(
    _ prepared: PreparedRewrite, original: Model, compiled: Executor?, bench: inout OutputBench,
    measured: OutputDifference? = nil
  ) throws -> (prepared: PreparedRewrite, difference: OutputDifference?) {
    let sites = prepared.sitesInOrder.map(\.site)
    let correctable = sites.indices.filter { isCorrectable(prepared, site: $0, sites[$0], samples: bench.inputs.count) }
    // Inputs each site needs for `fittingPairsPerUnknown` (≥ `pairsPerUnknown`: the same sites
    // stay correctable on the fitting inputs).
    let needed = correctable.compactMap { i in
      correctionShape(prepared, site: i, sites[i]).map { (Self.fittingPairsPerUnknown * ($0.rank + 1) + $0.positions - 1) / max($0.positions, 1) }
    }.max() ?? 1
    // Spread over the check inputs whatever they are (`OutputBench.subset`), at least one.
    let fitting = OutputBench.subset(max(options.correctionSamples, needed, 1), of: bench.inputs.count, spread: true)
    let subset = fitting.count < bench.inputs.count
    let k = min(max(options.correctionStages, 0), correctable.count)
    guard k > 0 else { return (prepared, measured) }
    let stages = (0..<k).map { s in Array(correctable[(s * correctable.count / k)..<((s + 1) * correctable.count / k)]) }
    guard let reference = try? compiled ?? Executor(model: original, options: bench.options) else { return (prepared, measured) }

    let held = holdResponses(stages.flatMap { $0 }, sites: sites, fitting: fitting, reference: reference, bench: &bench)
    var current = prepared
    progress?("sequential correction: stage 1 of \(k)")
    // On a subset, the uncorrected model's error on every input is the final comparison's.
    var collected = try collect(
      current, stage: stages[0], sites: sites, fitting: fitting, measuringAll: subset && measured == nil, original: original,
      reference: reference, held: held, bench: &bench)
    var error = collected.error
    guard error.isFinite else { return (prepared, measured) }
    let baseline = measured ?? collected.all
    // `current`'s model's difference on all inputs, when known (a stage not kept leaves the
    // model as it was).
    var difference = subset ? baseline : collected.all
    var kept = false
    for (n, stage) in stages.enumerated() {
      var (candidate, uncorrected, _) = try refit(
        current, stage: stage, sites: sites, moments: collected.moments, graph: original.graph, twoFactor: false)
      let next = n + 1 < stages.count ? stages[n + 1] : []
      progress?(next.isEmpty ? "sequential correction: measuring" : "sequential correction: stage \(n + 2) of \(k)")
      var tried = try collect(
        candidate, stage: next, sites: sites, fitting: fitting, measuringAll: subset && next.isEmpty, original: original,
        reference: reference, held: held, bench: &bench)
      // The two-factor candidate, where some site's fits its pairs better: kept if it measures better.
      let both = try refit(
        current, stage: stage, sites: sites, moments: collected.moments, graph: original.graph, twoFactor: options.correctionBothFactors)
      if options.correctionBothFactors, both.twoFactors > 0 {
        progress?("sequential correction: stage \(n + 1) with both factors refitted at \(both.twoFactors) site(s)")
        let other = try collect(
          both.candidate, stage: next, sites: sites, fitting: fitting, measuringAll: subset && next.isEmpty, original: original,
          reference: reference, held: held, bench: &bench)
        if other.error < tried.error { (candidate, tried) = (both.candidate, other) }
      }
      if tried.error <= error {
        (current, error, collected, difference, kept) = (candidate, tried.error, tried, tried.all, true)
      } else {
        current = uncorrected
        if !next.isEmpty {
          progress?("sequential correction: stage \(n + 1) not kept (error \(tried.error) > \(error)); stage \(n + 2) again")
          collected = try collect(
            current, stage: next, sites: sites, fitting: fitting, measuringAll: false, original: original, reference: reference,
            held: held, bench: &bench)
          guard collected.error.isFinite else { return subset ? (prepared, baseline) : (current, nil) }
        }
      }
    }
    guard subset, kept else { return (current, difference) }
    // Kept on the fitting inputs: kept only if not worse on all of them.
    if difference == nil {
      progress?("sequential correction: measuring on all inputs")
      var model = original
      _ = try apply(current, to: &model)
      difference = bench.difference(of: model)
    }
    guard let d = difference, let b = baseline, d.error <= b.error else {
      progress?("sequential correction: not kept (error on all inputs \(difference?.error ?? .infinity) > \(baseline?.error ?? .infinity))")
      return (prepared, baseline)
    }
    return (current, d)
  }

  /// The original's outputs y of `sites` on each fitting input, from one run per input as far
  /// as the last of them (`Executor.observe`: the same bits as the per-stage runs), or nil when
  /// they would exceed `heldResponseBytes` (those runs then count for nothing) or a run fails.
  private func holdResponses(
    _ stageSites: [Int], sites: [ConvSite], fitting: [Int], reference: Executor, bench: inout OutputBench
  ) -> [Int: [String: TensorValue]]? {
    let ys = Set(stageSites.compactMap { sites[$0].node.outputs.first }.filter { !$0.isEmpty && reference.plan.canObserve($0) })
    guard !ys.isEmpty else { return nil }
    var held: [Int: [String: TensorValue]] = [:]
    var bytes = 0
    struct TooLarge: Error {}
    do {
      for s in fitting {
        try bench.observe(reference, sample: s, observing: ys) { name, y in
          bytes += y.count * 4
          guard bytes <= Self.heldResponseBytes else { throw TooLarge() }
          held[s, default: [:]][name] = y
        }
      }
    } catch {
      return nil
    }
    return held
  }

  /// A response-fitted conv with a refittable last factor and enough pairs: `samples` × its
  /// output positions (from the geometry probe, one input) ≥ `pairsPerUnknown` × (n + 1).
  private func isCorrectable(_ p: PreparedRewrite, site i: Int, _ site: ConvSite, samples: Int) -> Bool {
    guard let shape = correctionShape(p, site: i, site) else { return false }
    let (pairs, overflow) = samples.multipliedReportingOverflow(by: shape.positions)
    return overflow || pairs >= Self.pairsPerUnknown * (shape.rank + 1)
  }

  /// The unknowns per output n of the last factor (`LastFactor`) and the output positions per
  /// input of a response-fitted conv, else nil.
  private func correctionShape(_ p: PreparedRewrite, site i: Int, _ site: ConvSite) -> (rank: Int, positions: Int)? {
    guard let last = lastFactor(p, site: i, site) else { return nil }
    return (last.unknowns, p.planner.geometry.geometry(of: site).outputPositions)
  }

  /// The last factor of a response-fitted ungrouped conv's svd, tucker2, cp or spatial fit.
  private func lastFactor(_ p: PreparedRewrite, site i: Int, _ site: ConvSite) -> LastFactor? {
    guard site.kind == .conv, site.group == 1, case .factor = p.plans[i], let key = p.keyOf[i],
      case .success(let f)? = p.factorizations[key], f.fittedTo == FitTarget.responses.rawValue
    else { return nil }
    return LastFactor(f)
  }

  /// Emits `p`, runs it and the original on each fitting input, and accumulates for each site
  /// of `stage` the pairs (z in `p`, y in the original); `error` is `p`'s measured output error
  /// on the fitting inputs (infinite when either model fails to compile or run: the correction
  /// then stops or rejects, it never fails the rewrite). With `measuringAll`, `p` also runs on
  /// the other check inputs and `all` is its difference on every input (in input order, as
  /// `OutputBench.difference` adds them); otherwise `all` is the fitting inputs' difference
  /// when they are all the inputs, else nil.
  private func collect(
    _ p: PreparedRewrite, stage: [Int], sites: [ConvSite], fitting: [Int], measuringAll: Bool, original: Model,
    reference: Executor, held responses: [Int: [String: TensorValue]]?, bench: inout OutputBench
  ) throws -> (error: Double, all: OutputDifference?, moments: [Int: CorrectionMoments]) {
    var model = original
    _ = try apply(p, to: &model)
    guard let executor = try? Executor(model: model, options: bench.options) else { return (.infinity, nil, [:]) }
    // The last factor writes the site's output; its input is z.
    var producer: [String: Node] = [:]
    for node in model.graph.nodes { for o in node.outputs where !o.isEmpty { producer[o] = node } }
    var pairs: [String: (site: Int, y: String, spec: PatchSpec?)] = [:]
    // The svd sites' inputs x̃ (an input may feed several sites), for the two-factor refit.
    var inputs: [String: [(site: Int, y: String, spec: PatchSpec, step: Int)]] = [:]
    var patchBytes = 0
    for i in stage {
      let site = sites[i]
      guard let y = site.node.outputs.first, !y.isEmpty, let last = producer[y], last.opType == "Conv", last.name != site.node.name,
        let z = last.inputs.first, !z.isEmpty, executor.plan.canObserve(z), reference.plan.canObserve(y),
        let factor = lastFactor(p, site: i, site)
      else { continue }
      var spec: PatchSpec? = nil
      if factor.readsPatches {
        let area = factor.kernel.reduce(1, *)
        guard let s = PatchSpec(node: last, channels: factor.unknowns / area, kernel: factor.kernel), s.dimension == factor.unknowns else { continue }
        spec = s
      }
      pairs[z] = (i, y, spec)
      guard options.correctionBothFactors, let key = p.keyOf[i], case .success(let f)? = p.factorizations[key], f.factors is [SVDFactors],
        let s = PatchSpec(site), let x = site.node.inputs.first, !x.isEmpty, executor.plan.canObserve(x)
      else { continue }
      let bytes = 8 * (s.dimension + 1) * (s.dimension + 1 + site.outputChannels)
      guard patchBytes + bytes <= Self.twoFactorBytes else { continue }
      patchBytes += bytes
      let available = fitting.count * p.planner.geometry.geometry(of: site).outputPositions
      let step = max(1, available / (Self.fittingPairsPerUnknown * (s.dimension + 1)))
      inputs[x, default: []].append((i, y, s, step))
    }
    let ys = Set(pairs.values.map(\.y))
    let fits = Set(fitting)
    var moments: [Int: CorrectionMoments] = [:]
    var (difference, all) = (OutputDifference(), OutputDifference())
    for s in bench.inputs.indices where measuringAll || fits.contains(s) {
      let fit = fits.contains(s)
      var held: [String: TensorValue] = [:]
      let outputs: [String: TensorValue]
      do {
        if let responses {
          held = responses[s] ?? [:]
        } else if fit && !ys.isEmpty {
          try bench.observe(reference, sample: s, observing: ys) { held[$0] = $1 }
        }
        outputs = try bench.run(executor, sample: s, observing: fit ? Set(pairs.keys).union(inputs.keys) : []) { name, z in
          if let pair = pairs[name], let y = held[pair.y] {
            Self.accumulate(&moments[pair.site, default: CorrectionMoments()].last, z: z, y: y, spec: pair.spec)
          }
          for t in inputs[name] ?? [] {
            guard let y = held[t.y] else { continue }
            Self.accumulate(&moments[t.site, default: CorrectionMoments()].patches, z: z, y: y, spec: t.spec, step: t.step)
          }
        }
      } catch {
        return (.infinity, nil, [:])
      }
      if fit { difference.add(reference: bench.reference(s), candidate: outputs) }
      all.add(reference: bench.reference(s), candidate: outputs)
    }
    return (difference.error, measuringAll || fitting.count == bench.inputs.count ? all : nil, moments)
  }
}
