/// `--ratio R`: the open sites' total parameters ≤ R × their original total, allocated across
/// sites by greatest error reduction per parameter (water-filling over their curves,
/// `allocate(curves:budget:)`); a site the allocation leaves whole is kept and says so.
struct RatioPolicy: SitePolicy {
  let ratio: Double

  func decide(_ context: PlanningContext, _ decisions: inout [PlanDecision?]) throws {
    let open = context.open(decisions)
    let curves = try context.curves(open)
    // Under --weights fp16|int8 the budget is in bytes (Storage/StorageBytes.swift).
    let bytes = open.map { context.planner.storageBytes(context.sites[$0].site) }
    let total = zip(open, bytes).reduce(0) { $0 + context.sites[$1.0].site.parameterCount * $1.1.original }
    let budget = Int((Double(total) * ratio).rounded(.down))
    let options = zip(zip(open, curves), bytes).map { p, b in
      (p.1 + [CurvePoint.keep(context.sites[p.0].site)]).map { var c = $0; c.params *= b.stored; return c }
    }
    let cheapest = options.reduce(0) { $0 + ($1.map(\.params).min() ?? 0) }
    if cheapest > budget {
      throw RewriteError.budgetTooSmall(ratio: ratio, minimum: Double(cheapest) / Double(max(total, 1)))
    }
    for (i, chosen) in zip(open, allocate(curves: options, budget: budget)) {
      if let m = chosen.format {
        decisions[i] = .factor(method: m, ranks: chosen.ranks)
      } else {
        decisions[i] = .keep(.excludedByBudget(ratio))
      }
    }
  }
}
