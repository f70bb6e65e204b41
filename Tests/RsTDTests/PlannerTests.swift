import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// Rank policies: the water-filling allocator, its convex hull, and max-error selection.
final class PlannerTests: XCTestCase {
  private func point(_ params: Int, _ error: Double) -> CurvePoint {
    CurvePoint(format: .svd, ranks: [params], params: params, error: error)
  }

  // Error² by parameters (the hull lives in (params, error²)):
  //   params  10    20      25      30     40      50
  //   error   1.0   0.9     0.95    0.5    0.45    0
  //   error²  1     0.81    0.9025  0.25   0.2025  0
  // 25 is dominated (dearer than 20, worse); 20 lies above 10→30; 40 lies above 30→50.
  func testLowerHullOnAHandExample() {
    let points = [point(40, 0.45), point(10, 1.0), point(25, 0.95), point(50, 0), point(20, 0.9), point(30, 0.5)]
    XCTAssertEqual(lowerHull(points).map(\.params), [10, 30, 50])
    XCTAssertEqual(lowerHull([point(10, 1.0)]).map(\.params), [10])
    // A convex curve is its own hull.
    let convex = [point(10, 1.0), point(20, 0.6), point(30, 0.4), point(40, 0)]
    XCTAssertEqual(lowerHull(convex), convex)
  }

  // Two convex curves (error² steps per parameter):
  //   A: 10/1.0 → 20/0.6 → 30/0.4 → 40/0      slopes 0.064, 0.020, 0.016
  //   B: 10/1.0 → 20/0.8 → 30/0.7             slopes 0.036, 0.015
  // For every budget the greedy choice equals the brute-force minimum of total error².
  func testAllocateIsOptimalOnAConvexExample() {
    let a = [point(10, 1.0), point(20, 0.6), point(30, 0.4), point(40, 0)]
    let b = [point(10, 1.0), point(20, 0.8), point(30, 0.7)]
    for budget in stride(from: 20, through: 75, by: 5) {
      let chosen = allocate(curves: [a, b], budget: budget)
      let total = chosen.reduce(0) { $0 + $1.params }
      XCTAssertLessThanOrEqual(total, budget, "budget \(budget)")
      var best = Double.infinity
      for p in a { for q in b where p.params + q.params <= budget { best = min(best, p.error * p.error + q.error * q.error) } }
      let got = chosen.reduce(0.0) { $0 + $1.error * $1.error }
      XCTAssertEqual(got, best, accuracy: 1e-12, "budget \(budget): chose \(chosen.map(\.params))")
    }
    // Budget 50: A's first two steps and B's first (0.064, 0.036, 0.020).
    XCTAssertEqual(allocate(curves: [a, b], budget: 50).map(\.params), [30, 20])
  }

  // Random curves: the budget holds whenever the cheapest points fit, and two runs agree.
  func testAllocateRespectsTheBudgetAndIsDeterministic() {
    var rng = SplitMix64(seed: 42)
    for trial in 0..<50 {
      let curves: [[CurvePoint]] = (0..<1 + Int(rng.next() % 5)).map { _ in
        let n = 1 + Int(rng.next() % 6)
        var params = 1 + Int(rng.next() % 20)
        var error = 1.0
        return (0..<n).map { _ in
          params += 1 + Int(rng.next() % 30)
          error *= Double(rng.next() % 1000) / 1000
          return point(params, error)
        }
      }
      let floor = curves.reduce(0) { $0 + $1.map(\.params).min()! }
      let budget = floor + Int(rng.next() % 200)
      let chosen = allocate(curves: curves, budget: budget)
      XCTAssertEqual(chosen.count, curves.count)
      XCTAssertLessThanOrEqual(chosen.reduce(0) { $0 + $1.params }, budget, "trial \(trial)")
      for (c, curve) in zip(chosen, curves) { XCTAssert(curve.contains(c), "trial \(trial): \(c) is not on its curve") }
      XCTAssertEqual(allocate(curves: curves, budget: budget), chosen, "trial \(trial)")
    }
  }

  // Equal slopes go to the earlier site: with room for one step, site 0 takes it.
  func testAllocateBreaksTiesBySiteOrder() {
    let c = [point(10, 1.0), point(20, 0.5)]
    XCTAssertEqual(allocate(curves: [c, c], budget: 30).map(\.params), [20, 10])
    XCTAssertEqual(allocate(curves: [c, c], budget: 40).map(\.params), [20, 20])
    XCTAssertEqual(allocate(curves: [c, c], budget: 29).map(\.params), [10, 10])
  }

  // W[8,8,1,1] = diag(4, 3, 2, 1, 0.5, 0, 0, 0): singular values known exactly, so the svd
  // truncation errors are √(tail²/30.25): r=1 0.686, r=2 0.417, r=3 0.203, r=4 0.0909, r=5 0.
  // svd at rank r stores 16r parameters; profitable (< 64) for r ≤ 3.
  private func diagonalModel() throws -> Model {
    var w = Tensor(zeros: [8, 8, 1, 1])
    for (i, s) in [4, 3, 2, 1, 0.5].enumerated() { w.scalars[i * 8 + i] = Float(s) }
    return try TestModel.conv(weightShape: [8, 8, 1, 1], weight: w)
  }

  private func plan(_ model: Model, _ ranks: RankPolicy, force: Bool = false, backOffLevel: Bool = false) throws -> PlanDecision {
    var options = chainTestOptions()
    options.method = .svd
    options.ranks = ranks
    options.force = force
    options.backOffLevel = backOffLevel
    let site = try onlySite(model, options)
    let kernel = try site.kernel(in: model.graph)
    return try Planner(options: options, opset: 13).plan([PlannedSite(site, kernel: kernel)])[0]
  }

  private func rank(_ d: PlanDecision) -> Int? {
    if case .factor(.svd, let r) = d { return r.first }
    return nil
  }

  func testMaxErrorPicksTheCheapestRankUnderTheBound() throws {
    let model = try diagonalModel()
    // (bound, expected rank): the smallest r with error ≤ bound.
    for (bound, expected) in [(0.7, 1), (0.5, 2), (0.42, 2), (0.41, 3), (0.3, 3)] {
      XCTAssertEqual(rank(try plan(model, .maxError(bound))), expected, "bound \(bound)")
    }
    // Rank 4 (error 0.0909) is not profitable: kept with the bound as reason.
    guard case .keep(let reason) = try plan(model, .maxError(0.1)) else { return XCTFail("expected keep") }
    XCTAssertEqual(reason, .noCompressionUnderBound(0.1))
    // With force unprofitable ranks are allowed, and the cheapest one under 0.1 is 4.
    XCTAssertEqual(rank(try plan(model, .maxError(0.1), force: true)), 4)
    // On the output check's back-off levels force admits no factors as large as the layer:
    // rank 3 (48 < 64 parameters) is still planned, rank 4 (64) is not.
    XCTAssertEqual(rank(try plan(model, .maxError(0.3), force: true, backOffLevel: true)), 3)
    guard case .keep(let kept) = try plan(model, .maxError(0.1), force: true, backOffLevel: true) else {
      return XCTFail("a back-off level planned factors as large as the layer")
    }
    XCTAssertEqual(kept, .noCompressionUnderBound(0.1))
  }

  // The ratio policy, end to end: the written sites' parameters stay within the budget.
  // x ─▶ Conv "conv0" (w[16,16,3,3]) ─▶ Relu ─▶ Conv "conv1" (w[16,16,3,3]) ─▶ y
  func testRatioPolicyStaysWithinTheBudget() throws {
    let model = try TestModel.chain([.init("conv0", outputChannels: 16), .init("conv1", outputChannels: 16)], inputChannels: 16)
    for ratio in [0.3, 0.5, 0.8] {
      var options = chainTestOptions()
      options.method = .svd
      options.ranks = .ratio(ratio)
      let (_, rows) = try rewritten(model, options)
      let before = rows.reduce(0) { $0 + $1.paramsBefore }, after = rows.reduce(0) { $0 + $1.paramsAfter }
      XCTAssertEqual(before, 2 * 2304)
      XCTAssertLessThanOrEqual(after, Int(Double(before) * ratio), "ratio \(ratio): \(rows.map { $0.ranks ?? [] })")
      XCTAssertGreaterThan(after, Int(Double(before) * ratio) - 2 * 16 * (144 + 16), "ratio \(ratio): more than one step per site left unused")
    }
  }
}

/// The allocation by measured error (Calibration/OutputAllocation.swift), on made-up probes.
final class OutputAllocationTests: XCTestCase {
  /// Two sites, three levels each: site 0 is cheap to fix (its gentler level removes most error
  /// for few parameters), site 1 is expensive. Under a budget only site 0 moves.
  func testTheCheapestSquaredErrorPerParameterMovesFirst() {
    var a = OutputAllocation(sites: [0, 1], levels: 3)
    for (l, (e, p)) in [(0.10, 100), (0.02, 110), (0.01, 150)].enumerated() { a.record(site: 0, level: l, error: e, params: p, dense: 400) }
    for (l, (e, p)) in [(0.03, 100), (0.02, 300), (0.01, 390)].enumerated() { a.record(site: 1, level: l, error: e, params: p, dense: 400) }
    // Planned: √(0.01 + 0.0009) ≈ 0.104. Budget 0.05: site 0 to level 1 gives √(0.0004 + 0.0009) ≈ 0.036.
    XCTAssertEqual(a.choose(budget: 0.05, siteCount: 3), [1, 0, 0])
    // A budget met as planned changes nothing.
    XCTAssertEqual(a.choose(budget: 0.2, siteCount: 2), [0, 0])
    // Budget 0: both sites whole (level 3 = kept).
    XCTAssertEqual(a.choose(budget: 0, siteCount: 2), [3, 3])
  }

  /// A probe that did not run (infinite error) is never chosen while a gentler level exists.
  func testABrokenLevelIsLeft() {
    var a = OutputAllocation(sites: [0], levels: 2)
    a.record(site: 0, level: 0, error: .infinity, params: 10, dense: 100)
    a.record(site: 0, level: 1, error: 0.01, params: 50, dense: 100)
    XCTAssertEqual(a.choose(budget: 0.05, siteCount: 1), [1])
    XCTAssertEqual(a.byHarm, [0])
    XCTAssertEqual(a.keptReason(site: 0, bound: 0.05), .outputBound(alone: 0.01, bound: 0.05))
  }

  /// A level that keeps the site whole (error 0 at the dense count) is chosen like keeping it,
  /// but the reason a kept site gives is its gentlest rewrite's error, not that level's 0.
  func testALevelThatKeepsTheSiteIsNotItsReason() {
    var a = OutputAllocation(sites: [0], levels: 3)
    a.record(site: 0, level: 0, error: 0.2, params: 10, dense: 100)
    a.record(site: 0, level: 1, error: 0.09, params: 40, dense: 100)
    a.record(site: 0, level: 2, error: 0, params: 100, dense: 100, factored: false)
    XCTAssertEqual(a.choose(budget: 0.05, siteCount: 1), [2])
    XCTAssertEqual(a.keptReason(site: 0, bound: 0.05), .outputBound(alone: 0.09, bound: 0.05))
  }

  /// More sites than probe runs: contiguous groups of near-equal size, in order, covering each
  /// site once; up to the limit every site is its own group (probed alone, as before).
  func testProbeGroupsPartitionTheSitesInOrder() {
    let sites = Array(stride(from: 3, to: 3 + 2 * 301, by: 2))
    for (count, limit) in [(301, 128), (128, 128), (5, 128), (301, 1), (7, 3)] {
      let groups = Rewriter.probeGroups(Array(sites.prefix(count)), limit: limit)
      XCTAssertEqual(groups.count, min(count, limit))
      XCTAssertEqual(groups.flatMap { $0 }, Array(sites.prefix(count)), "order kept, each once")
      let sizes = groups.map(\.count)
      XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
      if count <= limit { XCTAssertEqual(sizes, Array(repeating: 1, count: count)) }
    }
    XCTAssertEqual(Rewriter.probeGroups([], limit: 128), [])
  }

  /// A group's measured error is shared in proportion to the sites' weight errors, the shares'
  /// squares adding up to its square (as the allocation adds independent errors).
  func testProbeSharesAddUpInSquares() {
    let shares = Rewriter.probeShares(of: 0.5, weights: [0.3, 0.4, 0])
    XCTAssertEqual(shares[0], 0.3, accuracy: 1e-12)
    XCTAssertEqual(shares[1], 0.4, accuracy: 1e-12)
    XCTAssertEqual(shares[2], 0)
    XCTAssertEqual(Rewriter.probeShares(of: 0.2, weights: [0.9]), [0.2], "alone: the measurement itself")
    let equal = Rewriter.probeShares(of: 0.2, weights: [0, 0, 0, 0])
    XCTAssertEqual(equal.map { $0 * $0 }.reduce(0, +), 0.04, accuracy: 1e-12)
    XCTAssertEqual(Set(equal).count, 1)
    XCTAssertTrue(Rewriter.probeShares(of: .infinity, weights: [0.1, 0]).allSatisfy { $0 == .infinity }, "a group that does not run: every site broken")
  }

  /// A site probed in a group gives the group's measured error and its estimated share as its
  /// reason, never "alone".
  func testAGroupedSiteSaysItWasProbedInAGroup() {
    var a = OutputAllocation(sites: [0, 1], levels: 1)
    a.record(site: 0, level: 0, error: 0.06, params: 10, dense: 100)
    a.record(site: 1, level: 0, error: 0.08, params: 10, dense: 100)
    a.recordGroup(site: 0, size: 2, error: 0.1)
    XCTAssertFalse(a.probedAlone(site: 0))
    XCTAssertTrue(a.probedAlone(site: 1))
    XCTAssertEqual(a.keptReason(site: 0, bound: 0.05), .outputBoundInGroup(share: 0.06, group: 2, groupError: 0.1, bound: 0.05))
    XCTAssertTrue(a.keptReason(site: 0, bound: 0.05).description.contains("probed in a group of 2 sites"))
    XCTAssertEqual(a.keptReason(site: 1, bound: 0.05), .outputBound(alone: 0.08, bound: 0.05))
  }

  /// The calibrated allocation's jobs (a site may have two) in groups: each alone up to the
  /// limit; past it no group holds a site twice, every job is in one group, in order per round.
  func testCalibrationProbeGroupsNeverHoldASiteTwice() {
    XCTAssertEqual(Rewriter.calibrationProbeGroups([4, 4, 7], limit: 3), [[0], [1], [2]])
    let jobs = (0..<300).map { $0 % 200 }  // sites 0..<200, the first 100 twice
    let groups = Rewriter.calibrationProbeGroups(jobs, limit: 128)
    XCTAssertEqual(groups.flatMap { $0 }.sorted(), Array(jobs.indices))
    for g in groups { XCTAssertEqual(Set(g.map { jobs[$0] }).count, g.count, "a site twice in \(g)") }
    XCTAssertLessThanOrEqual(groups.count, 128 + 2)
    XCTAssertGreaterThan(groups.count, 100)
  }
}

