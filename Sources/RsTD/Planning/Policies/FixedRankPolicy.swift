/// `--rank N`: the same rank at every site, clipped to the site's full ranks.
struct FixedRankPolicy: SitePolicy {
  let rank: Int

  func decide(_ context: PlanningContext, _ decisions: inout [PlanDecision?]) throws {
    for i in context.open(decisions) {
      // The last usable format: for auto, tucker2 on spatial kernels and svd on 1×1 and linear.
      guard let f = context.usable[i].last else { continue }
      decisions[i] = context.guarded(i, f, f.uniformRanks(context.sites[i].site, rank: rank))
    }
  }
}
