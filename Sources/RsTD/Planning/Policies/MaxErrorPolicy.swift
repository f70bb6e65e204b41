/// `--max-error E` (and the default's per-kernel bounds): at each site, the cheapest profitable
/// point (under the objective) whose relative weight error is within the site's bound; keep
/// when none is.
struct MaxErrorPolicy: SitePolicy {
  /// The bound on convs with a k×k… kernel.
  let spatial: Double
  /// The bound on 1×1 convs and linear layers.
  let pointwise: Double

  init(_ bound: Double) { (spatial, pointwise) = (bound, bound) }
  init(spatial: Double, pointwise: Double) { (self.spatial, self.pointwise) = (spatial, pointwise) }

  func errorBound(_ site: ConvSite) -> Double? { site.kernelArea > 1 ? spatial : pointwise }

  func decide(_ context: PlanningContext, _ decisions: inout [PlanDecision?]) throws {
    let open = context.open(decisions)
    let curves = try context.curves(open)
    for (i, curve) in zip(open, curves) {
      if curve.isEmpty {
        decisions[i] = .keep(context.whyNoPoint(i))
        continue
      }
      let bound = errorBound(context.sites[i].site)!
      let ok = preferAligned(curve.filter { $0.error <= bound })
      if let best = ok.min(by: { ($0.cost, $0.error) < ($1.cost, $1.error) }), let m = best.format {
        decisions[i] = .factor(method: m, ranks: best.ranks)
      } else {
        decisions[i] = .keep(.noCompressionUnderBound(bound))
      }
    }
  }
}
