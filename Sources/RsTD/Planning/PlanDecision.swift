/// What the planner decided for one site.
enum PlanDecision {
  case factor(method: Method, ranks: [Int])
  case keep(SkipReason)
}

/// A factorization that ended in keeping the site instead.
enum PlanOutcome: Error {
  /// No profitable rank met the error bound once fitted.
  case boundNotMet(Double)
}
