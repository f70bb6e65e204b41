/// `--rank full`: every site at the lossless ranks of its first usable format (verification).
struct FullRankPolicy: SitePolicy {
  func decide(_ context: PlanningContext, _ decisions: inout [PlanDecision?]) throws {
    for i in context.open(decisions) {
      let f = context.usable[i][0]
      decisions[i] = context.guarded(i, f, f.fullRanks(context.sites[i].site))
    }
  }
}
