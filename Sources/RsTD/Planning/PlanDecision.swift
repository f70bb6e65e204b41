/// What the planner decided for one site.
enum PlanDecision {
  case factor(method: Method, ranks: [Int])
  case keep(SkipReason)
}
