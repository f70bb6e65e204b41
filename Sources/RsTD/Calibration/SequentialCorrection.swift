import Executor
import ONNX
import TensorAlgebra

/// Sequential correction (Zhang et al., TPAMI 2016, asymmetric reconstruction): response-PCA
/// factors are fitted to the original network's responses, so a site never sees what its
/// compressed upstream does to its input. Here each response-fitted svd site keeps its first
/// factor (`Conv(k×k, C→r)`) and has its last one (`Conv(1×1, r→M)`) and bias refitted by least
/// squares, so that fed with the compressed network's own activations z it reproduces the
/// original layer's output y on the same calibration input: min Σ‖y − Wz − b‖² over all inputs
/// and positions (`LeastSquaresMoments`).
extension Rewriter {
  /// Ridge of the refit, relative to the mean diagonal of the normal matrix.
  static let correctionRidge = 1e-6
  /// Pairs per unknown (r + 1 per output channel) a refit needs. Below it the fit interpolates
  /// the calibration inputs: measured on PP-OCR det's squeeze-excitation convs (one position per
  /// input after GlobalAveragePool, 8 inputs, r = 48), an exact fit of the gates raised the
  /// output error 0.284 → 0.291 on those very inputs.
  static let pairsPerUnknown = 4

  /// `prepared` with its response-fitted svd sites corrected in `options.correctionStages`
  /// stages: the sites, in graph (topological) order, are split into K contiguous groups, and
  /// stage k refits its group on the activations of the model with stages < k corrected. Each
  /// stage is kept only if the measured output error on the check inputs does not grow.
  ///
  /// Per stage the original runs once per input as far as the group's outputs y (a prefix of
  /// the graph; y held for that input only) and the compressed model once (observing the first
  /// factors' outputs z, and its outputs, which measure the previous stage): inputs × (2K + 1)
  /// runs, K × inputs of them partial, plus 2 × inputs for each stage not kept but the last.
  /// Sites whose first factor cannot be observed are left as fitted. The correction stops,
  /// keeping what it has, if a candidate cannot be run.
  /// - Returns: the rewrite, and its model's output difference on the check inputs when the
  ///   correction measured it (the last stage's run does), so that callers need not run it again.
  func correctSequentially(
    _ prepared: PreparedRewrite, original: Model, compiled: Executor?, bench: inout OutputBench
  ) throws -> (prepared: PreparedRewrite, difference: OutputDifference?) {
    let sites = prepared.decisions.compactMap { d -> ConvSite? in if case .rewrite(let s) = d { s } else { nil } }
    let samples = bench.inputs.count
    let correctable = sites.indices.filter { isCorrectable(prepared, site: $0, sites[$0], samples: samples) }
    let k = min(max(options.correctionStages, 0), correctable.count)
    guard k > 0 else { return (prepared, nil) }
    let stages = (0..<k).map { s in Array(correctable[(s * correctable.count / k)..<((s + 1) * correctable.count / k)]) }
    guard let reference = try? compiled ?? Executor(model: original, options: bench.options) else { return (prepared, nil) }

    var current = prepared
    progress?("sequential correction: stage 1 of \(k)")
    var collected = try collect(current, stage: stages[0], sites: sites, original: original, reference: reference, bench: &bench)
    var error = collected.error
    guard error.isFinite else { return (prepared, nil) }
    // `current`'s model's difference (a stage not kept leaves the model as it was).
    var difference = collected.difference
    for (n, stage) in stages.enumerated() {
      let (candidate, uncorrected) = try refit(current, stage: stage, sites: sites, moments: collected.moments, graph: original.graph)
      let next = n + 1 < stages.count ? stages[n + 1] : []
      progress?(next.isEmpty ? "sequential correction: measuring" : "sequential correction: stage \(n + 2) of \(k)")
      let tried = try collect(candidate, stage: next, sites: sites, original: original, reference: reference, bench: &bench)
      if tried.error <= error {
        (current, error, collected, difference) = (candidate, tried.error, tried, tried.difference)
      } else {
        current = uncorrected
        if !next.isEmpty {
          progress?("sequential correction: stage \(n + 1) not kept (error \(tried.error) > \(error)); stage \(n + 2) again")
          collected = try collect(current, stage: next, sites: sites, original: original, reference: reference, bench: &bench)
          guard collected.error.isFinite else { return (current, nil) }
        }
      }
    }
    return (current, difference)
  }

  /// A response-fitted svd conv with enough pairs: `samples` × its output positions (from the
  /// geometry probe, one input) ≥ `pairsPerUnknown` × (r + 1).
  private func isCorrectable(_ p: PreparedRewrite, site i: Int, _ site: ConvSite, samples: Int) -> Bool {
    guard site.kind == .conv, site.group == 1, case .factor(.svd, _) = p.plans[i], let key = p.keyOf[i],
      case .success(let f)? = p.factorizations[key], f.fittedTo == FitTarget.responses.rawValue,
      let svd = f.factors as? [SVDFactors], svd.count == 1
    else { return false }
    let positions = p.planner.geometry.geometry(of: site).outputPositions
    let (pairs, overflow) = samples.multipliedReportingOverflow(by: positions)
    return overflow || pairs >= Self.pairsPerUnknown * (svd[0].rank + 1)
  }

  /// Emits `p`, runs it and the original on every check input, and accumulates for each site
  /// of `stage` the pairs (z in `p`, y in the original); `error` is `p`'s measured output error
  /// (infinite when either model fails to compile or run: the correction then stops or rejects,
  /// it never fails the rewrite).
  private func collect(
    _ p: PreparedRewrite, stage: [Int], sites: [ConvSite], original: Model, reference: Executor, bench: inout OutputBench
  ) throws -> (error: Double, difference: OutputDifference?, moments: [Int: LeastSquaresMoments]) {
    var model = original
    _ = try apply(p, to: &model)
    guard let executor = try? Executor(model: model, options: bench.options) else { return (.infinity, nil, [:]) }
    // The last factor writes the site's output; its input is z.
    var producer: [String: Node] = [:]
    for node in model.graph.nodes { for o in node.outputs where !o.isEmpty { producer[o] = node } }
    var pairs: [String: (site: Int, y: String)] = [:]
    for i in stage {
      let site = sites[i]
      guard let y = site.node.outputs.first, !y.isEmpty, let last = producer[y], last.opType == "Conv", last.name != site.node.name,
        let z = last.inputs.first, !z.isEmpty, executor.plan.canObserve(z), reference.plan.canObserve(y)
      else { continue }
      pairs[z] = (i, y)
    }
    let ys = Set(pairs.values.map(\.y))
    var moments: [Int: LeastSquaresMoments] = [:]
    var difference = OutputDifference()
    for s in bench.inputs.indices {
      var held: [String: TensorValue] = [:]
      let outputs: [String: TensorValue]
      do {
        if !ys.isEmpty { try bench.observe(reference, sample: s, observing: ys) { held[$0] = $1 } }
        outputs = try bench.run(executor, sample: s, observing: Set(pairs.keys)) { name, z in
          guard let pair = pairs[name], let y = held[pair.y] else { return }
          Self.accumulate(&moments[pair.site], z: z, y: y)
        }
      } catch {
        return (.infinity, nil, [:])
      }
      difference.add(reference: bench.reference(s), candidate: outputs)
    }
    return (difference.error, difference, moments)
  }

  /// Adds the pairs of one run: z `[N, r, spatial…]`, y `[N, M, spatial…]` at the same positions.
  private static func accumulate(_ m: inout LeastSquaresMoments?, z: TensorValue, y: TensorValue) {
    guard z.shape.count >= 2, z.shape.count == y.shape.count, z.shape[0] == y.shape[0], z.shape.dropFirst(2) == y.shape.dropFirst(2),
      let zf = z.floats, let yf = y.floats
    else { return }
    let (r, outputs) = (z.shape[1], y.shape[1])
    var moments = m ?? LeastSquaresMoments(inputs: max(r, 1), outputs: max(outputs, 1))
    guard r >= 1, outputs >= 1, moments.inputs == r, moments.outputs == outputs else { return }
    let positions = z.shape.dropFirst(2).reduce(1, *)
    for n in 0..<z.shape[0] {
      moments.add(z: zf, zOffset: n * r * positions, y: yf, yOffset: n * outputs * positions, columns: positions)
    }
    m = moments
  }

  /// `p` with the stage's sites refitted from `moments` (`candidate`), and `p` with only their
  /// measured errors recorded (`uncorrected`, what stays if the stage is not kept).
  private func refit(
    _ p: PreparedRewrite, stage: [Int], sites: [ConvSite], moments: [Int: LeastSquaresMoments], graph: Graph
  ) throws -> (candidate: PreparedRewrite, uncorrected: PreparedRewrite) {
    var (keyOf, factorizations) = (p.keyOf, p.factorizations)
    var uncorrected = p.factorizations
    for i in stage {
      guard let m = moments[i], m.count >= Self.pairsPerUnknown * (m.inputs + 1), let key = p.keyOf[i], case .success(let f)? = p.factorizations[key],
        let svd = (f.factors as? [SVDFactors])?.first, svd.left.shape == [m.outputs, m.inputs]
      else { continue }
      let site = sites[i]
      let (outputs, r) = (m.outputs, m.inputs)
      var bias = [Float](repeating: 0, count: outputs)
      if let b = f.bias {
        bias = b
      } else if let name = site.biasName {
        guard let b = try graph.constant(name)?.floats(), b.count == outputs else { continue }
        bias = b
      }
      // X = [Wᵀ; bᵀ], (r+1) × M row-major.
      var prior = [Double](repeating: 0, count: (r + 1) * outputs)
      for o in 0..<outputs {
        for j in 0..<r { prior[j * outputs + o] = Double(svd.left.scalars[o * r + j]) }
        prior[r * outputs + o] = Double(bias[o])
      }
      let before = m.relativeError(of: prior)
      var marked = f
      marked.siteOutputErrorUncorrected = before
      uncorrected[key] = .success(marked)
      guard let x = try m.solve(prior: prior, ridge: Self.correctionRidge) else {
        factorizations[key] = .success(marked)
        continue
      }
      var left = [Float](repeating: 0, count: outputs * r)
      for o in 0..<outputs { for j in 0..<r { left[o * r + j] = Float(x[j * outputs + o]) } }
      let factors = SVDFactors(left: Tensor(shape: [outputs, r], scalars: left), right: svd.right)
      var g = marked
      g.factors = [factors]
      g.bias = (0..<outputs).map { Float(x[r * outputs + $0]) }
      g.corrected = true
      g.siteOutputError = m.relativeError(of: x)
      let kernel = try site.kernel(in: graph)
      let norm = kernel.frobeniusNorm
      let residual = zip(kernel.scalars, factors.reconstruct().scalars).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
      g.relativeError = norm > 0 ? residual.squareRoot() / norm : 0
      let newKey = key + "|corrected"
      keyOf[i] = newKey
      factorizations[newKey] = .success(g)
    }
    let candidate = PreparedRewrite(planner: p.planner, decisions: p.decisions, plans: p.plans, keyOf: keyOf, factorizations: factorizations)
    let kept = PreparedRewrite(planner: p.planner, decisions: p.decisions, plans: p.plans, keyOf: p.keyOf, factorizations: uncorrected)
    return (candidate, kept)
  }
}
