/// `--ratio R`: the open sites' total cost under the objective (parameters by default) ≤ R ×
/// their original total, allocated across sites by greatest error reduction per unit of cost
/// (water-filling over their curves, `allocate(curves:budget:)`); a site the allocation leaves
/// whole is kept and says so.
struct RatioPolicy: SitePolicy {
  let ratio: Double

  func decide(_ context: PlanningContext, _ decisions: inout [PlanDecision?]) throws {
    // Sites with no profitable chain are kept (and say why) and out of the budget: the ratio is
    // of the sites that can shrink.
    var open: [Int] = []
    var curves: [[CurvePoint]] = []
    for (i, curve) in zip(context.open(decisions), try context.curves(context.open(decisions))) {
      if curve.isEmpty { decisions[i] = .keep(context.whyNoPoint(i)) } else { open.append(i); curves.append(curve) }
    }
    // Under --weights fp16|int8 the parameter budget is in bytes (Storage/StorageBytes.swift).
    let planner = context.planner
    let bytes = open.map { planner.storageBytes(context.sites[$0].site) }
    let byParams = planner.options.objective == .params
    let total = zip(open, bytes).reduce(0) { sum, p in
      sum + planner.objectiveCost(context.sites[p.0].site, nil, ranks: [], bytesPerParameter: byParams ? p.1.original : 1)
    }
    let budget = Int((Double(total) * ratio).rounded(.down))
    // A site kept whole costs its stored bytes (kept weights are re-stored under --weights too).
    func priced(aligned: Bool) -> [[CurvePoint]] {
      zip(zip(open, curves), bytes).map { p, b in
        var keep = CurvePoint.keep(context.sites[p.0].site)
        keep.cost = planner.objectiveCost(context.sites[p.0].site, nil, ranks: [], bytesPerParameter: byParams ? b.stored : 1)
        return (aligned ? preferAligned(p.1) : p.1).map { var c = $0; if byParams { c.cost *= b.stored }; return c } + [keep]
      }
    }
    func cheapest(_ o: [[CurvePoint]]) -> Int { o.reduce(0) { $0 + ($1.map(\.cost).min() ?? 0) } }
    // Aligned steps when the budget allows them; unaligned ranks only to reach a budget that
    // aligned ones cannot.
    var options = priced(aligned: true)
    if cheapest(options) > budget { options = priced(aligned: false) }
    if cheapest(options) > budget {
      throw RewriteError.budgetTooSmall(ratio: ratio, minimum: Double(cheapest(options)) / Double(max(total, 1)), of: planner.options.objective)
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
