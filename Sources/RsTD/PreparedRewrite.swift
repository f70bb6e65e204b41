/// A rewrite decided and factored but not yet emitted: which nodes are sites, each site's plan
/// and its factors. Emitting it (`Rewriter.apply`) into copies of the model with some sites
/// withheld is how the output check tries subsets of sites without factoring twice.
struct PreparedRewrite {
  let planner: Planner
  /// One per Conv/Gemm/MatMul-like node, in graph order.
  let decisions: [SiteDecision]
  /// One per `.rewrite` decision, in order.
  let plans: [PlanDecision]
  /// Factor key of each factored site (index among the `.rewrite` decisions).
  let keyOf: [Int: String]
  let factorizations: [String: Result<Factorization, Error>]

  /// Number of `.rewrite` decisions (sites the planner saw).
  var siteCount: Int { plans.count }
}

extension PreparedRewrite {
  /// A rewrite whose site `i` takes its plan and factors from `levels[choice[i]]`. The levels
  /// must come from the same model and differ only in rank policy (so their decisions agree).
  static func mixing(_ levels: [PreparedRewrite], choice: [Int]) -> PreparedRewrite {
    var plans: [PlanDecision] = []
    var keyOf: [Int: String] = [:]
    var factorizations: [String: Result<Factorization, Error>] = [:]
    for (i, l) in choice.enumerated() {
      plans.append(levels[l].plans[i])
      if let key = levels[l].keyOf[i] {
        keyOf[i] = key
        factorizations[key] = levels[l].factorizations[key]
      }
    }
    return PreparedRewrite(
      planner: levels[0].planner, decisions: levels[0].decisions, plans: plans, keyOf: keyOf,
      factorizations: factorizations)
  }
}

extension PreparedRewrite {
  /// What site `i` (index among the `.rewrite` decisions) would store and how far its factors
  /// are from the layer, without emitting: nil when this rewrite keeps the site.
  /// The distance is the response error when the factors were fitted to responses, else the
  /// relative weight error.
  func outcome(ofSite i: Int, _ site: ConvSite) -> (params: Int, error: Double)? {
    guard case .factor(let m, _) = plans[i], let key = keyOf[i], case .success(let f)? = factorizations[key] else { return nil }
    return (planner.formatFor(m).cost(site, ranks: f.ranks).params, f.responseError ?? f.relativeError)
  }
}

extension PreparedRewrite {
  /// The sites the planner saw, in graph order, each with its index among the `.rewrite`
  /// decisions (the index into `plans` and `keyOf`) and its plan: the one walk every pass over
  /// the sites uses.
  var sitesInOrder: [(index: Int, site: ConvSite, plan: PlanDecision)] {
    var out: [(index: Int, site: ConvSite, plan: PlanDecision)] = []
    out.reserveCapacity(plans.count)
    for d in decisions {
      guard case .rewrite(let site) = d else { continue }
      out.append((out.count, site, plans[out.count]))
    }
    return out
  }
}
