import TensorAlgebra

/// Chooses a format and ranks for every site under the rank policy, with all sites in view.
struct Planner {
  let options: RewriteOptions
  let opset: Int
  /// Where each site's chain runs, for the runtime cost model (Latency/).
  var geometry: SiteGeometries = .nominal

  /// The formats considered for a site: the one asked for, or for `auto` svd plus tucker2 on
  /// convs with a spatial kernel (for 1×1 convs svd is never worse at equal budget); `spatial`
  /// where it separates a kernel, svd elsewhere.
  func candidates(_ site: ConvSite) -> [any ConvFormat] {
    let methods: [Method]
    switch options.method {
    case .auto, .mixed: methods = site.kind == .conv && site.kernelArea > 1 ? [.svd, .tucker2] : [.svd]
    case .spatial: methods = SpatialFormat.applies(to: site) ? [.spatial] : [.svd]
    default: methods = [options.method]
    }
    return methods.map { formatFor($0) }
  }

  /// The format implementing `method` in the chosen layout.
  func formatFor(_ method: Method) -> any ConvFormat {
    options.layout == .reconstructed ? ReconstructedFormat(inner: method, shuffle: options.shuffle) : format(for: method)
  }

  /// The rank policy's type (Policies/).
  var policy: SitePolicy { options.ranks.sitePolicy }

  /// A decision per site: sites no candidate format can rewrite are kept with the first
  /// format's reason; the rank policy decides the rest.
  func plan(_ sites: [PlannedSite]) throws -> [PlanDecision] {
    var decisions = [PlanDecision?](repeating: nil, count: sites.count)
    var usable: [[any ConvFormat]] = []
    for (i, s) in sites.enumerated() {
      let formats = candidates(s.site)
      let ok = formats.filter { $0.unsupportedReason(s.site, opset: opset) == nil }
      if ok.isEmpty, let reason = formats.first?.unsupportedReason(s.site, opset: opset) {
        decisions[i] = .keep(reason)
      }
      usable.append(ok)
    }
    try policy.decide(PlanningContext(planner: self, sites: sites, usable: usable), &decisions)
    return decisions.map { $0! }
  }

  /// The per-site error bound of the rank policy (nil when it sets none).
  func errorBound(_ site: ConvSite) -> Double? { policy.errorBound(site) }

  /// Factors a site as planned. Under a max-error policy a format whose curve was only an estimate
  /// (cp) is refitted at growing ranks until the measured error meets the bound; when no
  /// profitable rank does, `PlanOutcome.boundNotMet` is thrown and the site is kept.
  func factor(_ s: PlannedSite, method: Method, ranks: [Int]) throws -> Factorization {
    let f = formatFor(method)
    let ctx = shuffleContext(for: s.site)
    var ranks = ranks
    let kernel = try s.kernel()
    while true {
      let fit = try stored(f.factor(kernel, site: s.site, ranks: ranks, context: ctx), format: f, site: s.site, kernel: kernel)
      guard let bound = errorBound(s.site), fit.relativeError > bound + 1e-9 else { return fit }
      let next = f.uniformRanks(s.site, rank: Int((Double(ranks.max() ?? 1) * 1.25).rounded(.up)) + 1)
      guard next != ranks, unprofitableReason(s.site, f, ranks: next) == nil else { throw PlanOutcome.boundNotMet(bound) }
      ranks = next
    }
  }

  /// The union of the candidates' curves, restricted to profitable points, each priced under
  /// the objective and marked aligned or not (`isAligned`). Formats without a cheap
  /// curve (cp) borrow the svd curve's errors at equal parameters, as an estimate.
  func profitableCurve(_ s: PlannedSite, _ formats: [any ConvFormat]) throws -> [CurvePoint] {
    let kernel = try s.kernel()
    let ctx = shuffleContext(for: s.site)
    var points: [CurvePoint] = []
    for f in formats {
      if let c = try f.curve(s.site, kernel: kernel, context: ctx) {
        points += c
      } else if let proxy = try formatFor(.svd).curve(s.site, kernel: kernel, context: ctx) {
        // Each rank of the format, estimated at the error svd reaches with no more parameters
        // (1 when svd has no point that small); only ranks that store fewer parameters than
        // the layer are worth an estimate.
        var rank = 1
        while rank <= (f.fullRanks(s.site).max() ?? 1) {
          let r = f.uniformRanks(s.site, rank: rank)
          let params = f.cost(s.site, ranks: r).params
          if params >= s.site.parameterCount && !options.admitsLargerFactors { break }
          let error = proxy.filter { $0.params <= params }.map(\.error).min() ?? 1
          points.append(CurvePoint(format: f.method, ranks: r, params: params, error: error))
          rank += 1
        }
      }
    }
    let profitable = points.compactMap { p -> CurvePoint? in
      guard let f = formats.first(where: { $0.method == p.format }), unprofitableReason(s.site, f, ranks: p.ranks) == nil else { return nil }
      var priced = p
      priced.cost = objectiveCost(s.site, f, ranks: p.ranks)
      priced.aligned = isAligned(s.site, f, ranks: p.ranks)
      return priced
    }
    return profitable
  }

  func shuffleContext(for site: ConvSite) -> ShuffleContext {
    ShuffleContext(mode: options.shuffle, seed: siteSeed(options.seed, site.weightName), candidates: options.searchCandidates)
  }
}
