/// One step along a site's lower hull: from point `index - 1` to `index`, with its reduction of
/// squared error per unit of cost.
struct HullStep {
  var site: Int
  var index: Int
  var slope: Double
}

/// Every hull step of every site, steepest first; ties by site and index, for determinism.
/// Both allocators (budget and error bound) spend along this order.
func hullSteps(_ hulls: [[CurvePoint]]) -> [HullStep] {
  var steps: [HullStep] = []
  for (s, hull) in hulls.enumerated() {
    for i in 1..<max(1, hull.count) {
      let dp = Double(hull[i].cost - hull[i - 1].cost)
      let de = hull[i - 1].error * hull[i - 1].error - hull[i].error * hull[i].error
      steps.append(HullStep(site: s, index: i, slope: de / max(dp, 1)))
    }
  }
  steps.sort { ($0.slope, -$0.site, -$0.index) > ($1.slope, -$1.site, -$1.index) }
  return steps
}

/// Water-filling of a budget over sites' error curves, on the points' `cost` axis (parameters
/// unless the objective says otherwise).
///
/// Each site starts at its cheapest point; budget then goes to the steps with the greatest
/// reduction of squared relative error per unit of cost, across all sites, taking each site's
/// steps along the lower convex hull of its (cost, error²) curve so that greedy is optimal
/// for the convexified problem. A step that does not fit ends that site's growth.
/// - Parameters:
///   - curves: per site, its options (the last one typically the original layer, kept).
///   - budget: the most cost all sites may hold together.
/// - Returns: the chosen point per site.
/// - Complexity: O(P log P) for P points in all.
func allocate(curves: [[CurvePoint]], budget: Int) -> [CurvePoint] {
  let hulls = curves.map(lowerHull)
  var chosen = hulls.map { $0[0] }
  var total = chosen.reduce(0) { $0 + $1.cost }
  var stopped = Set<Int>()
  for step in hullSteps(hulls) where !stopped.contains(step.site) {
    let next = hulls[step.site][step.index]
    let delta = next.cost - chosen[step.site].cost
    guard hulls[step.site][step.index - 1] == chosen[step.site] else { continue }
    if total + delta <= budget {
      chosen[step.site] = next
      total += delta
    } else {
      stopped.insert(step.site)
    }
  }
  return chosen
}

/// The points of a curve on its lower convex hull in (cost, error²), cheapest first,
/// error strictly decreasing.
func lowerHull(_ points: [CurvePoint]) -> [CurvePoint] {
  let sorted = points.sorted { ($0.cost, $0.error) < ($1.cost, $1.error) }
  var hull: [CurvePoint] = []
  for p in sorted {
    if let last = hull.last, p.error >= last.error { continue }
    while hull.count >= 2 {
      let a = hull[hull.count - 2], b = hull[hull.count - 1]
      // Drop b when it lies on or above the segment a→p.
      let cross = Double(b.cost - a.cost) * (p.error * p.error - a.error * a.error)
        - (b.error * b.error - a.error * a.error) * Double(p.cost - a.cost)
      if cross <= 0 { hull.removeLast() } else { break }
    }
    hull.append(p)
  }
  return hull
}
