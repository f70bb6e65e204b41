extension RankPolicy {
  /// The policy type that plans this option.
  var sitePolicy: SitePolicy {
    switch self {
    case .full: FullRankPolicy()
    case .fixed(let r): FixedRankPolicy(rank: r)
    case .maxError(let e): MaxErrorPolicy(e)
    case .maxErrorByKernel(let spatial, let pointwise):
      ConservativePolicy(bounds: MaxErrorPolicy(spatial: spatial, pointwise: pointwise))
    case .ratio(let r): RatioPolicy(ratio: r)
    }
  }
}
