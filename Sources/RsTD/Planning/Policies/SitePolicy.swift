import TensorAlgebra

/// A rank policy as the planner runs it: given every site and the formats that can rewrite it,
/// decide each open site (format and ranks, or keep and why).
///
/// One type per policy (this folder); `RankPolicy` (the option users set) maps to them in
/// `RankPolicy+SitePolicy.swift`. A new policy — calibrated, end to end — is a new file here plus
/// a case there.
protocol SitePolicy {
  /// Decides every site whose decision is still nil (sites no format can rewrite are decided
  /// already).
  /// - Throws: `RewriteError` when the policy cannot be met at all (e.g. a budget below rank 1).
  func decide(_ context: PlanningContext, _ decisions: inout [PlanDecision?]) throws

  /// The relative weight error the written factors must meet at `site`, nil when the policy sets
  /// no per-site bound. A factorization above it is refitted at growing ranks, then kept.
  func errorBound(_ site: ConvSite) -> Double?
}

extension SitePolicy {
  func errorBound(_ site: ConvSite) -> Double? { nil }
}

/// What every policy sees: the sites with their kernels, the usable formats per site (the one
/// asked for first; for `auto`, svd then tucker2), and the planner's shared measures.
struct PlanningContext {
  let planner: Planner
  let sites: [PlannedSite]
  let usable: [[any ConvFormat]]

  /// Indices of the sites not decided yet.
  func open(_ decisions: [PlanDecision?]) -> [Int] { sites.indices.filter { decisions[$0] == nil } }

  /// `ranks` in format `f` if the chain is profitable (and not slower), else keep and say why.
  func guarded(_ i: Int, _ f: any ConvFormat, _ ranks: [Int]) -> PlanDecision {
    if let reason = planner.unprofitableReason(sites[i].site, f, ranks: ranks) { return .keep(reason) }
    return .factor(method: f.method, ranks: ranks)
  }

  /// Why a site has no profitable point at all: the reason its cheapest chain (rank 1 of its
  /// first usable format) is refused — too many parameters or multiply-adds, or predicted slower.
  func whyNoPoint(_ i: Int) -> SkipReason {
    let site = sites[i].site
    guard let f = usable[i].first else { return .rankOne }
    return planner.unprofitableReason(site, f, ranks: f.uniformRanks(site, rank: 1)) ?? .rankOne
  }

  /// Every profitable (format, ranks) point of the open sites, computed in parallel.
  func curves(_ indices: [Int]) throws -> [[CurvePoint]] {
    try parallelMap(indices) { i in try planner.profitableCurve(sites[i], usable[i]) }
  }
}
