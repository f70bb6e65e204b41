import ONNX
import TensorAlgebra

/// The options of the calibrated allocation's sites: each format's profitable points with their
/// response errors d (docs/calibration.md, "Several formats per site").
extension Rewriter {
  /// Whether the calibrated allocation offers several formats per site (svd, spatial, tucker2):
  /// under `--method mixed` when it runs at all (response fits and allocation,
  /// factorized fp32, `--ratio` or an output bound). The bench then also streams the input
  /// statistics those formats' fits need.
  var mixesFormats: Bool {
    guard options.method == .mixed, options.allocation == .responses, options.fit == .responses, options.layout == .factorized,
      options.weights == .fp32, options.check.enabled
    else { return false }
    if case .ratio = options.ranks { return true }
    return options.check.effectiveBound(under: options.ranks, weights: options.weights) != nil
  }

  /// The formats calibrated site `site` may take given its plan's format `planned`: svd, spatial
  /// where it applies and tucker2 for k×k > 1 when `mixesFormats`; else the one format it had
  /// (spatial for `--method spatial` where it applies, svd otherwise).
  func calibratedFormats(_ site: ConvSite, planned: Method) -> [Method] {
    if mixesFormats {
      return [.svd] + (SpatialFormat.applies(to: site) ? [.spatial] : []) + (site.kind == .conv && site.kernelArea > 1 ? [.tucker2] : [])
    }
    return [planned == .spatial ? .spatial : .svd]
  }

  /// The sites the calibrated allocation chooses for, with their options (in site order). A
  /// format whose statistics were not observed (patches too wide, an input not watched) is left out.
  func calibratedSites(_ base: PreparedRewrite, graph: Graph, statistics: ResponseStatistics) throws -> [CalibratedSite] {
    let planner = base.planner
    var found: [(Int, ConvSite, [Method: FitInputs], [Float])] = []
    for (i, site, plan) in base.sitesInOrder {
      let planned: Method
      switch plan {
      case .factor(let m, _): planned = m
      case .keep(.excludedByBudget), .keep(.noCompressionUnderBound):
        planned = options.method == .spatial && SpatialFormat.applies(to: site) ? .spatial : .svd
      case .keep: continue
      }
      guard respondsToFit(site), let out = site.node.outputs.first, let bias = try responseFitBias(site, graph: graph) else { continue }
      var inputs: [Method: FitInputs] = [:]
      let output = statistics.moments[out].flatMap { $0.count > 0 ? $0 : nil }
      for f in calibratedFormats(site, planned: planned) {
        switch f {
        case .spatial: if let m = statistics.patchMoments[out], m.count > 0 { inputs[f] = FitInputs(moments: m) }
        case .tucker2:
          if let output, let x = site.node.inputs.first, let m = statistics.moments[x], m.count > 0, m.dimension == site.inputChannelsPerGroup {
            inputs[f] = FitInputs(moments: output, input: m)
          }
        default: if let output { inputs[f] = FitInputs(moments: output) }
        }
      }
      // A spatial site without its patches falls back to svd, as before several formats.
      if inputs.isEmpty, let output { inputs[.svd] = FitInputs(moments: output) }
      if !inputs.isEmpty { found.append((i, site, inputs, bias)) }
    }
    let made = try parallelMap(found) { index, site, inputs, bias -> CalibratedSite? in
      var points: [CurvePoint] = []
      for f in CalibratedSite.referenceOrder { if let fit = inputs[f] { points += try formatPoints(site, f, fit, graph: graph, planner: planner) } }
      guard !points.isEmpty else { return nil }
      var keep = CurvePoint.keep(site)
      keep.cost = planner.objectiveCost(site, nil, ranks: [])
      return CalibratedSite(index: index, site: site, inputs: inputs, bias: bias, points: points, keep: keep)
    }
    return made.compactMap { $0 }
  }

  /// The profitable points of `method` at `site` with their response errors d as `error`.
  private func formatPoints(_ site: ConvSite, _ method: Method, _ fit: FitInputs, graph: Graph, planner: Planner) throws -> [CurvePoint] {
    let format = planner.formatFor(method)
    func point(_ ranks: [Int], _ d: Double) -> CurvePoint {
      var p = CurvePoint(format: method, ranks: ranks, params: format.cost(site, ranks: ranks).params, error: d,
        cost: planner.objectiveCost(site, format, ranks: ranks))
      p.aligned = planner.isAligned(site, format, ranks: ranks)
      return p
    }
    switch method {
    case .tucker2:
      let (kernel, second) = (try site.kernel(in: graph), secondMoment(fit.input!))
      return try tucker2Family(site, format: format, planner: planner).map { ranks in
        let (_, d) = try tucker2ResponseFit(kernel, outputCovariance: fit.moments.covariance, inputSecondMoment: second, ranks: (ranks[0], ranks[1]))
        return point(ranks, d)
      }
    default:
      let curve = method == .spatial
        ? try spatialCurve(site, graph: graph, moments: fit.moments, format: format, planner: planner)
        : try responseCurve(covariance: fit.moments.covariance, dim: site.outputChannels)
      return (1..<curve.count).compactMap { r in
        planner.unprofitableReason(site, format, ranks: [r]) == nil ? point([r], curve[r]) : nil
      }
    }
  }

  /// Rank pairs of a tucker2 site's options: a 1-D family with both ranks a fraction t of their
  /// full ranks (t = 1/n … (n−1)/n, n = `tucker2CurveSteps`), each pair also rounded up to the
  /// channel block, the profitable ones only.
  private func tucker2Family(_ site: ConvSite, format: any ConvFormat, planner: Planner) -> [[Int]] {
    let full = format.fullRanks(site)
    let block = max(planner.options.channelAlign, 1)
    let n = Rewriter.tucker2CurveSteps
    var pairs: [[Int]] = []
    for t in 1..<n {
      let raw = full.map { max(1, ($0 * t + n - 1) / n) }
      let aligned = zip(raw, full).map { r, f in min(f, (r + block - 1) / block * block) }
      for ranks in [raw, aligned] where ranks != full && !pairs.contains(ranks) && planner.unprofitableReason(site, format, ranks: ranks) == nil {
        pairs.append(ranks)
      }
    }
    return pairs.sorted { $0.lexicographicallyPrecedes($1) }
  }

  /// Steps of a tucker2 site's rank family (`tucker2Family`).
  static let tucker2CurveSteps = 24

  /// E[x xᵀ] = Cov(x) + μ μᵀ of `m`, row-major.
  private func secondMoment(_ m: SecondMoments) -> [Double] {
    // `covariance` and `mean` are computed on each access: read them once.
    let (c, covariance, mean) = (m.dimension, m.covariance, m.mean)
    return (0..<(c * c)).map { covariance[$0] + mean[$0 / c] * mean[$0 % c] }
  }

  /// Ranks of a spatial site's response curve that are refitted; the others are interpolated.
  static let spatialCurveRanks = 48

  /// d(0) … d(full) of a spatial site: the response refit's error measured at its profitable
  /// ranks (at most `spatialCurveRanks` of them, evenly spread, aligned ones first), linear in
  /// between; d(0) = 1 and d(full) = 0.
  private func spatialCurve(_ site: ConvSite, graph: Graph, moments: SecondMoments, format: any ConvFormat, planner: Planner) throws -> [Double] {
    let full = format.fullRanks(site)[0]
    let profitable = (1..<max(full, 1)).filter { planner.unprofitableReason(site, format, ranks: [$0]) == nil }
    var grid = profitable
    if grid.count > Rewriter.spatialCurveRanks {
      let aligned = profitable.filter { planner.isAligned(site, format, ranks: [$0]) }
      let step = Double(profitable.count - 1) / Double(Rewriter.spatialCurveRanks - 1)
      let spread = (0..<Rewriter.spatialCurveRanks).map { profitable[Int((Double($0) * step).rounded())] }
      grid = Array(Set(spread + aligned.prefix(Rewriter.spatialCurveRanks))).sorted()
    }
    let measured = try spatialResponseCurve(try site.kernel(in: graph), covariance: moments.covariance, mean: moments.mean, ranks: grid)
    var known = [(0, 1.0)] + grid.map { ($0, measured[$0]!) } + [(full, 0.0)]
    known.sort { $0.0 < $1.0 }
    var curve = [Double](repeating: 0, count: full + 1)
    for k in 1..<known.count {
      let (a, b) = (known[k - 1], known[k])
      for r in a.0...b.0 { curve[r] = b.0 > a.0 ? a.1 + (b.1 - a.1) * Double(r - a.0) / Double(b.0 - a.0) : b.1 }
    }
    return curve
  }

  /// The response fit of calibrated site `s` at option `p`, in `p`'s format.
  func responseFit(_ s: CalibratedSite, _ p: CurvePoint, graph: Graph) throws -> Factorization {
    switch p.format {
    case .spatial: try spatialResponseFactorization(s.site, graph: graph, moments: s.inputs[.spatial]!.moments, rank: p.ranks[0], bias: s.bias)
    case .tucker2:
      try tucker2ResponseFactorization(
        s.site, graph: graph, moments: s.inputs[.tucker2]!.moments, input: s.inputs[.tucker2]!.input!, ranks: p.ranks, bias: s.bias)
    default: try responseFactorization(s.site, graph: graph, moments: s.inputs[.svd]!.moments, rank: p.ranks[0], bias: s.bias)
    }
  }
}
