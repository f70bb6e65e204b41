/// Per-site choice of how hard to compress, from measured output errors.
///
/// Each rewritten site has been probed alone at each level (the planned rank policy, then
/// stricter ones); keeping it whole is one level more, with no error. Errors of independent
/// perturbations add roughly in squares, so the allocation treats the model's error as
/// √(Σ eᵢ²) and, starting from the planned level everywhere, repeatedly takes the step (any
/// site, to any gentler level) that removes the most squared error per parameter it adds,
/// until the estimate is within the budget. The estimate is only a guide: the caller measures
/// the model it gives and tightens the budget if the measurement disagrees.
struct OutputAllocation {
  let sites: [Int]
  let levelCount: Int
  private var errors: [Int: [Double]] = [:]
  private var params: [Int: [Int]] = [:]
  private var dense: [Int: Int] = [:]
  /// Per site, the levels at which it was factored (a level may keep it whole instead).
  private var factored: [Int: [Bool]] = [:]
  /// Sites probed in a group rather than alone: the group's size and measured error.
  private var groups: [Int: (size: Int, error: Double)] = [:]

  /// An error this large counts as "does not run" (squares of it must stay finite).
  private static let brokenError = 1e6

  init(sites: [Int], levels: Int) {
    self.sites = sites
    self.levelCount = levels
    for s in sites {
      errors[s] = Array(repeating: 0, count: levels)
      params[s] = Array(repeating: 0, count: levels)
      factored[s] = Array(repeating: false, count: levels)
    }
  }

  /// The probe of `site` alone at `level`; `factored` false when that level keeps the site
  /// whole (recorded as error 0 at `dense` parameters).
  mutating func record(site: Int, level: Int, error: Double, params p: Int, dense d: Int, factored f: Bool = true) {
    errors[site]![level] = error.isFinite ? min(error, OutputAllocation.brokenError) : OutputAllocation.brokenError
    params[site]![level] = p
    dense[site] = d
    factored[site]![level] = f
  }

  /// `site` was probed with `size` sites (itself included), which together measured `error`; its
  /// recorded errors are its estimated share.
  mutating func recordGroup(site: Int, size: Int, error: Double) {
    groups[site] = (size, error)
  }

  /// Whether `site` was probed alone (its errors are measured, not a share of a group's).
  func probedAlone(site: Int) -> Bool { groups[site] == nil }

  /// The error of `site` at `level` (0 when kept whole): measured alone, or its share of its
  /// probe group's.
  func error(site: Int, level: Int) -> Double { level < levelCount ? errors[site]![level] : 0 }

  /// The level of each of `siteCount` prepared sites (`levelCount` = kept whole; sites not
  /// probed stay at level 0, their plan).
  func choose(budget: Double, siteCount: Int) -> [Int] {
    var choice = [Int](repeating: 0, count: siteCount)
    func e(_ s: Int, _ l: Int) -> Double { error(site: s, level: l) }
    func p(_ s: Int, _ l: Int) -> Int { l < levelCount ? params[s]![l] : dense[s]! }
    var total = sites.reduce(0.0) { $0 + e($1, 0) * e($1, 0) }
    while total > budget * budget {
      var best: (ratio: Double, site: Int, level: Int)?
      for s in sites where choice[s] < levelCount {
        let (ec, pc) = (e(s, choice[s]), p(s, choice[s]))
        for l in (choice[s] + 1)...levelCount {
          let gain = ec * ec - e(s, l) * e(s, l)
          guard gain > 0 else { continue }
          let ratio = gain / Double(max(p(s, l) - pc, 1))
          if best == nil || ratio > best!.ratio { best = (ratio, s, l) }
        }
      }
      guard let best else { break }
      total -= e(best.site, choice[best.site]) * e(best.site, choice[best.site]) - e(best.site, best.level) * e(best.site, best.level)
      choice[best.site] = best.level
    }
    return choice
  }

  /// The sites in order of harm: largest error at the planned level first.
  var byHarm: [Int] {
    sites.sorted { a, b in e0(a) != e0(b) ? e0(a) > e0(b) : a < b }
  }

  private func e0(_ s: Int) -> Double { errors[s]![0] }

  /// Why `site` is kept whole: even its gentlest probed rewrite moves the outputs this much
  /// (levels that keep it whole are not rewrites: their 0 would read "moves them by 0").
  func keptReason(site: Int, bound: Double) -> SkipReason {
    let probed = zip(errors[site] ?? [], factored[site] ?? []).filter(\.1).map(\.0)
    if let g = groups[site] {
      return .outputBoundInGroup(share: probed.min() ?? 0, group: g.size, groupError: g.error, bound: bound)
    }
    return .outputBound(alone: probed.min() ?? 0, bound: bound)
  }
}
