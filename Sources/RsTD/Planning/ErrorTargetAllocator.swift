/// The dual of `allocate(curves:budget:)`: the cheapest choice whose estimated error
/// √(Σ error²) is at most `bound`.
///
/// Each site starts at its cheapest point; cost then goes to the steps with the greatest
/// reduction of squared error per unit of cost (along each site's lower convex hull in
/// (cost, error²), so within a site the steps come in order), until the estimate is within the
/// bound. When even every site's most accurate point misses it, those points are returned.
/// - Parameters:
///   - curves: per site, its options (typically ending with the original layer, error 0).
///   - bound: the largest acceptable √(Σ error²).
/// - Returns: the chosen point per site.
/// - Complexity: O(P log P) for P points in all.
func allocate(curves: [[CurvePoint]], errorBound bound: Double) -> [CurvePoint] {
  let hulls = curves.map(lowerHull)
  var chosen = hulls.map { $0[0] }
  var squared = chosen.reduce(0.0) { $0 + $1.error * $1.error }
  for step in hullSteps(hulls) where squared > bound * bound {
    let next = hulls[step.site][step.index]
    guard hulls[step.site][step.index - 1] == chosen[step.site] else { continue }
    squared += next.error * next.error - chosen[step.site].error * chosen[step.site].error
    chosen[step.site] = next
  }
  return chosen
}

/// √(Σ error²) of a choice: the allocators' estimate of the model's error.
func estimatedError(_ chosen: [CurvePoint]) -> Double {
  chosen.reduce(0.0) { $0 + $1.error * $1.error }.squareRoot()
}
