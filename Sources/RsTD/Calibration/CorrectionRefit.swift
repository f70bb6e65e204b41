import Executor
import ONNX
import TensorAlgebra

/// What one stage's runs accumulate for a site, pairing each output position's original
/// response y with what the compressed model computes there.
struct CorrectionMoments {
  /// (the last factor's input z — or its patches —, y): the last-factor refit.
  var last: LeastSquaresMoments?
  /// (the site's input patches x̃, y): the two-factor refit of svd sites.
  var patches: LeastSquaresMoments?
}

extension Rewriter {
  /// Adds the pairs of one run: `z` `[N, n, spatial…]` (or, with `spec`, its patches) against
  /// y `[N, M, spatial…]` at the same output positions; other shapes are ignored.
  /// With `spec`, only every `step`-th output position of an image is added (the patch Gram
  /// costs D² per pair: the two-factor refit takes what it needs, `fittingPairsPerUnknown`).
  static func accumulate(_ m: inout LeastSquaresMoments?, z: TensorValue, y: TensorValue, spec: PatchSpec?, step: Int = 1) {
    guard z.shape.count >= 2, z.shape.count == y.shape.count, z.shape[0] == y.shape[0], y.shape[1] >= 1, let yf = y.floats else { return }
    let outputs = y.shape[1]
    let positions = y.shape.dropFirst(2).reduce(1, *)
    guard let spec else {
      guard z.shape.dropFirst(2) == y.shape.dropFirst(2), z.shape[1] >= 1, let zf = z.floats else { return }
      let r = z.shape[1]
      var moments = m ?? LeastSquaresMoments(inputs: r, outputs: outputs)
      guard moments.inputs == r, moments.outputs == outputs else { return }
      for n in 0..<z.shape[0] {
        moments.add(z: zf, zOffset: n * r * positions, y: yf, yOffset: n * outputs * positions, columns: positions)
      }
      m = moments
      return
    }
    guard spec.positions(of: z) == positions else { return }
    var moments = m ?? LeastSquaresMoments(inputs: spec.dimension, outputs: outputs)
    guard moments.inputs == spec.dimension, moments.outputs == outputs else { return }
    let d = spec.dimension
    spec.forEachBlock(of: z) { block, n, start, cols in
      // The kept columns of positions start..<start+cols, and y's at them.
      let kept = (0..<cols).filter { (start + $0) % step == 0 }
      guard !kept.isEmpty else { return }
      var patches = block
      if kept.count < cols {
        patches = [Float](repeating: 0, count: d * kept.count)
        for k in 0..<d { for (c, p) in kept.enumerated() { patches[k * kept.count + c] = block[k * cols + p] } }
      }
      var targets = [Float](repeating: 0, count: outputs * kept.count)
      for o in 0..<outputs {
        let from = (n * outputs + o) * positions + start
        for (c, p) in kept.enumerated() { targets[o * kept.count + c] = yf[from + p] }
      }
      moments.add(z: patches, y: targets, columns: kept.count)
    }
    m = moments
  }

  /// `p` with the stage's sites refitted from `moments` (`candidate`: each site's last factor
  /// and bias by least squares; with `twoFactor`, an svd site with patch moments gets both
  /// factors by reduced-rank regression instead, where that fits its pairs better), and `p`
  /// with only their measured errors recorded (`uncorrected`, what stays if the stage is not
  /// kept). `twoFactors` counts the sites refitted both ways: 0 means the candidate is the
  /// last-factor one.
  func refit(
    _ p: PreparedRewrite, stage: [Int], sites: [ConvSite], moments: [Int: CorrectionMoments], graph: Graph, twoFactor: Bool
  ) throws -> (candidate: PreparedRewrite, uncorrected: PreparedRewrite, twoFactors: Int) {
    var (keyOf, factorizations) = (p.keyOf, p.factorizations)
    var uncorrected = p.factorizations
    var twoFactors = 0
    for i in stage {
      guard let m = moments[i]?.last, m.count >= Self.pairsPerUnknown * (m.inputs + 1), let key = p.keyOf[i],
        case .success(let f)? = p.factorizations[key], var last = LastFactor(f), last.outputs == m.outputs, last.unknowns == m.inputs
      else { continue }
      let site = sites[i]
      let (outputs, n) = (m.outputs, m.inputs)
      var bias = [Float](repeating: 0, count: outputs)
      if let b = f.bias {
        bias = b
      } else if let name = site.biasName {
        guard let b = try graph.constant(name)?.floats(), b.count == outputs else { continue }
        bias = b
      }
      // X = [Wᵀ; bᵀ], (n+1) × M row-major.
      var prior = [Double](repeating: 0, count: (n + 1) * outputs)
      for o in 0..<outputs {
        for j in 0..<n { prior[j * outputs + o] = Double(last.weight[o * n + j]) }
        prior[n * outputs + o] = Double(bias[o])
      }
      var marked = f
      marked.siteOutputErrorUncorrected = m.relativeError(of: prior)
      uncorrected[key] = .success(marked)
      guard let x = try m.solve(prior: prior, ridge: Self.correctionRidge) else {
        factorizations[key] = .success(marked)
        continue
      }
      for o in 0..<outputs { for j in 0..<n { last.weight[o * n + j] = Float(x[j * outputs + o]) } }
      var g = marked
      guard let refitted = last.replacing(in: f) else { continue }
      g.factors = refitted
      g.bias = (0..<outputs).map { Float(x[n * outputs + $0]) }
      g.corrected = true
      g.siteOutputError = m.relativeError(of: x)
      if twoFactor, let both = try twoFactorRefit(f, patches: moments[i]?.patches, lastError: g.siteOutputError ?? .infinity) {
        (g.factors, g.bias, g.siteOutputError, g.correctedBoth) = (both.factors, both.bias, both.error, true)
        twoFactors += 1
      }
      let kernel = try site.kernel(in: graph)
      let rebuilt = LastFactor.reconstruct(g.factors) ?? kernel.scalars
      var residual = 0.0
      for (a, b) in zip(kernel.scalars, rebuilt) { residual += Double(a - b) * Double(a - b) }
      let norm = kernel.frobeniusNorm
      g.relativeError = norm > 0 ? residual.squareRoot() / norm : 0
      let newKey = key + (g.correctedBoth ? "|corrected2" : "|corrected")
      keyOf[i] = newKey
      factorizations[newKey] = .success(g)
    }
    let candidate = PreparedRewrite(planner: p.planner, decisions: p.decisions, plans: p.plans, keyOf: keyOf, factorizations: factorizations)
    let kept = PreparedRewrite(planner: p.planner, decisions: p.decisions, plans: p.plans, keyOf: p.keyOf, factorizations: uncorrected)
    return (candidate, kept, twoFactors)
  }

  /// Both svd factors and the bias of `f` by reduced-rank regression on the site's input
  /// patches x̃ in the compressed model (`LeastSquaresMoments.reducedRank`), or nil when `f` is
  /// not a one-group svd fit, the patches were not collected or are too few
  /// (`pairsPerUnknown` per patch entry), or the fit is no better on the pairs than the
  /// last-factor refit's `lastError`.
  private func twoFactorRefit(
    _ f: Factorization, patches: LeastSquaresMoments?, lastError: Double
  ) throws -> (factors: [SVDFactors], bias: [Float], error: Double)? {
    guard let m = patches, let svd = (f.factors as? [SVDFactors])?.first, m.count >= Self.pairsPerUnknown * (m.inputs + 1),
      svd.right.shape == [svd.rank, m.inputs], svd.left.shape == [m.outputs, svd.rank]
    else { return nil }
    let (outputs, d, r) = (m.outputs, m.inputs, svd.rank)
    let w0 = svd.reconstruct().scalars.map(Double.init)  // [M, D]
    guard let map = try m.reducedRank(rank: r, prior: w0, ridge: Self.correctionRidge) else { return nil }
    let left = map.left.map { Float($0) }, right = map.right.map { Float($0) }
    let factors = SVDFactors(left: Tensor(shape: [outputs, r], scalars: left), right: Tensor(shape: [r, d], scalars: right))
    // Its error on the pairs, as the model will compute it (float factors): X = [(AB)ᵀ; bᵀ].
    let ab = factors.reconstruct().scalars
    var x = [Double](repeating: 0, count: (d + 1) * outputs)
    for o in 0..<outputs {
      for k in 0..<d { x[k * outputs + o] = Double(ab[o * d + k]) }
      x[d * outputs + o] = Double(Float(map.bias[o]))
    }
    let error = m.relativeError(of: x)
    guard error < lastError else { return nil }
    return ([factors], map.bias.map { Float($0) }, error)
  }
}
