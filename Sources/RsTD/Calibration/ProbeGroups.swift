/// How many model probes the output check's back-off, the storage allocation and the calibrated
/// allocation run: each probe runs the model from its first changed layer on (about half of it on
/// average, `PrefixCuts`), so one per site (or weight) is quadratic in depth; past `probeGroupLimit` they probe groups and share each group's error.
extension Rewriter {
  /// At most this many probe runs a stage; more sites (weights, jobs) are probed in groups.
  static let probeGroupLimit = 128

  /// `sites` in at most `probeGroupLimit` contiguous groups of near-equal size (order kept).
  static func probeGroups(_ sites: [Int], limit: Int = probeGroupLimit) -> [[Int]] {
    let count = min(sites.count, max(limit, 1))
    return (0..<count).map { g in Array(sites[g * sites.count / count..<(g + 1) * sites.count / count]) }
  }

  /// `jobs` (the site of each probe job; a site may have several) in groups that hold no site
  /// twice: each job alone up to `limit` jobs, else the i-th jobs of every site form round i,
  /// and each round is split into its part of `limit` groups (`probeGroups`). Job indices.
  static func calibrationProbeGroups(_ jobs: [Int], limit: Int = probeGroupLimit) -> [[Int]] {
    guard jobs.count > limit else { return jobs.indices.map { [$0] } }
    var rounds: [[Int]] = []
    var seen: [Int: Int] = [:]
    for (j, site) in jobs.enumerated() {
      let r = seen[site, default: 0]
      seen[site] = r + 1
      if r == rounds.count { rounds.append([]) }
      rounds[r].append(j)
    }
    return rounds.flatMap { round in probeGroups(round, limit: max(1, limit * round.count / jobs.count)) }
  }

  /// Each site's share of its group's measured `error`, in proportion to `weights` (the sites'
  /// planned weight or response errors), so that the shares' squares add up to the error's
  /// square as independent errors do (`OutputAllocation`); equal shares when all weights are 0.
  static func probeShares(of error: Double, weights: [Double]) -> [Double] {
    if weights.count == 1 { return [error] }
    let norm = weights.reduce(0) { $0 + $1 * $1 }.squareRoot()
    guard error.isFinite else { return weights.map { _ in error } }
    guard norm > 0, norm.isFinite else { return weights.map { _ in error / Double(weights.count).squareRoot() } }
    return weights.map { error * $0 / norm }
  }
}
