import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// The calibrated allocation's parts that need no model: response curves, the probe's
/// reference rank, and the error-target allocator on synthetic curves (sensitivity × d(r)).
final class CalibratedAllocationTests: XCTestCase {
  /// Site curves as the calibrated allocation builds them: ranks 1…m with cost r·(k + m),
  /// error g·d(r) for a geometric spectrum, then the site kept whole (cost k·m, error 0).
  private func syntheticCurves(_ sites: Int, seed: UInt64) -> [[CurvePoint]] {
    var g = SplitMix64(seed: seed)
    return (0..<sites).map { _ in
      let m = 4 + Int(g.next() % 29)
      let k = 9 * m
      let decay = 0.5 + 0.45 * Double(g.next() % 1000) / 1000
      let sensitivity = 0.01 + Double(g.next() % 1000) / 1000
      let lambda = (0..<m).map { pow(decay, Double($0)) }
      let total = lambda.reduce(0, +)
      var points = (1..<m).map { r -> CurvePoint in
        let d = (lambda[r...].reduce(0, +) / total).squareRoot()
        return CurvePoint(format: .svd, ranks: [r], params: r * (k + m), error: sensitivity * d)
      }
      points.append(CurvePoint(format: nil, ranks: [], params: k * m, error: 0))
      return points
    }
  }

  func testTheErrorTargetIsMetAtTheLeastCostAmongHullChoicesAndGrowsMonotonically() {
    let curves = syntheticCurves(12, seed: 7)
    var lastCost = -1
    for bound in [2.0, 1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01, 0.0] {
      let chosen = allocate(curves: curves, errorBound: bound)
      XCTAssertEqual(chosen.count, curves.count)
      XCTAssertLessThanOrEqual(estimatedError(chosen), bound + 1e-12, "bound \(bound)")
      let cost = chosen.reduce(0) { $0 + $1.cost }
      // A tighter target never costs less.
      XCTAssertGreaterThanOrEqual(cost, lastCost, "bound \(bound)")
      lastCost = cost
      // The budget allocator given this cost reaches an estimate at least as good: the two
      // solve the same convexified problem from either side.
      XCTAssertLessThanOrEqual(estimatedError(allocate(curves: curves, budget: cost)), estimatedError(chosen) + 1e-12, "bound \(bound)")
      // Determinism: the same curves give the same choice.
      XCTAssertEqual(allocate(curves: curves, errorBound: bound), chosen)
    }
    // Bound 0: every site at an exact point (here: kept whole, the only point with error 0).
    XCTAssertTrue(allocate(curves: curves, errorBound: 0).allSatisfy { $0.error == 0 })
  }

  func testTheBudgetAllocatorMeetsTheBudgetAndItsEstimateFallsAsTheBudgetGrows() {
    let curves = syntheticCurves(20, seed: 3)
    let cheapest = curves.reduce(0) { $0 + $1.map(\.cost).min()! }
    let dense = curves.reduce(0) { $0 + $1.last!.cost }
    var last = Double.infinity
    for step in 0...10 {
      let budget = cheapest + (dense - cheapest) * step / 10
      let chosen = allocate(curves: curves, budget: budget)
      XCTAssertLessThanOrEqual(chosen.reduce(0) { $0 + $1.cost }, budget, "budget \(budget)")
      let e = estimatedError(chosen)
      XCTAssertLessThanOrEqual(e, last + 1e-12, "budget \(budget)")
      last = e
    }
    XCTAssertEqual(last, 0, "the whole budget keeps every site whole")
  }

  func testAnInsensitiveSiteIsCompressedBeforeASensitiveOne() {
    // Two identical layers; the second moves the model 100× more per unit of response error.
    let layer = syntheticCurves(1, seed: 5)[0]
    let scaled = layer.map { p -> CurvePoint in var q = p; q.error *= 100; return q }
    let chosen = allocate(curves: [layer, scaled], errorBound: 0.05)
    XCTAssertLessThan(chosen[0].cost, chosen[1].cost, "\(chosen)")
  }

  func testTheResponseCurveIsTheResponseErrorOfResponsePCAAtEveryRank() throws {
    var g = SeededNormal(seed: 21)
    let m = 6
    let y = g.tensor([m, 200])
    var s = SecondMoments(dimension: m)
    // Correlated, unequal channels: y' = A·y with A lower triangular.
    var mixed = [Float](repeating: 0, count: m * 200)
    for i in 0..<m { for j in 0...i { for n in 0..<200 { mixed[i * 200 + n] += Float(j + 1) * y.scalars[j * 200 + n] / Float(i + 1) } } }
    s.addColumns(mixed, columns: 200)
    let curve = try responseCurve(covariance: s.covariance, dim: m)
    XCTAssertEqual(curve.count, m + 1)
    XCTAssertEqual(curve[0], 1, accuracy: 1e-12)
    XCTAssertEqual(curve[m], 0, accuracy: 1e-12)
    let w = g.tensor([m, 5])
    for r in 1...m {
      XCTAssertLessThanOrEqual(curve[r], curve[r - 1] + 1e-12, "non-increasing at \(r)")
      let (_, e) = try responsePCA(w, covariance: s.covariance, rank: r)
      XCTAssertEqual(curve[r], e, accuracy: 1e-6, "rank \(r)")
    }
    XCTAssertEqual(try responseCurve(covariance: [Double](repeating: 0, count: 9), dim: 3), [0, 0, 0, 0])
  }

  func testTheReferenceRankIsTheSmallestAlignedRankAtModerateResponseError() {
    let curve = [1, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1, 0.05, 0]
    let points = (1...7).map { r -> CurvePoint in
      var p = CurvePoint(format: .svd, ranks: [r], params: r, error: curve[r])
      p.aligned = r % 2 == 0
      return p
    }
    // d ≤ 0.25 from rank 5; the aligned ranks are even: 6.
    XCTAssertEqual(CalibratedSite.reference(points: points)?.ranks, [6])
    // Only ranks with large error: the most accurate of them.
    XCTAssertEqual(CalibratedSite.reference(points: Array(points.prefix(3)))?.ranks, [2])
    // Responses that do not vary: nothing to probe.
    XCTAssertNil(CalibratedSite.reference(points: points.map { var p = $0; p.error = 0; return p }))
  }

  func testTheSensitivityIsInterpolatedBetweenProbesAndHeldBeyondThem() throws {
    let site = try onlySite(try TestModel.conv(weightShape: [4, 2, 1, 1]))
    let curve = [1, 0.6, 0.3, 0.1, 0]
    let points = (1...3).map { CurvePoint(format: .svd, ranks: [$0], params: $0 * 8, error: curve[$0]) }
    var s = CalibratedSite(
      index: 0, site: site, inputs: [.svd: FitInputs(moments: SecondMoments(dimension: 4))], bias: [0, 0, 0, 0], points: points,
      keep: CurvePoint(format: nil, ranks: [], params: 16, error: 0))
    XCTAssertEqual(s.sensitivity(at: 0.3), 0, "no probe yet")
    s.probes = [(0.3, 0.06), (0.6, 0.24)]  // g = 0.2 at d = 0.3, 0.4 at d = 0.6
    XCTAssertEqual(s.probeError, 0.06)
    XCTAssertEqual(s.sensitivity(at: 0.45), 0.3, accuracy: 1e-12)
    XCTAssertEqual(s.sensitivity(at: 0.1), 0.2, accuracy: 1e-12)
    XCTAssertEqual(s.sensitivity(at: 0.9), 0.4, accuracy: 1e-12)
    let c = s.allocationCurve(aligned: false)
    XCTAssertEqual(c.map(\.error), [0.6 * 0.4, 0.3 * 0.2, 0.1 * 0.2, 0].map { $0 }, "g(d)·d per rank, then kept whole")
  }

  func testOneSensitivityPricesEveryFormatAndTheAllocationPicksAcrossThem() throws {
    let site = try onlySite(try TestModel.conv(weightShape: [4, 2, 3, 3]))
    var points = [(1, 0.6), (2, 0.3), (3, 0.1)].map { CurvePoint(format: .svd, ranks: [$0.0], params: 10 * $0.0, error: $0.1) }
    points += [([1, 2], 12, 0.2), ([2, 4], 22, 0.05)].map { CurvePoint(format: .tucker2, ranks: $0.0, params: $0.1, error: $0.2) }
    for n in points.indices { points[n].aligned = points[n].ranks == [2] || points[n].ranks == [2, 4] }
    var s = CalibratedSite(
      index: 0, site: site, inputs: [.svd: FitInputs(moments: SecondMoments(dimension: 4))], bias: [0, 0, 0, 0], points: points,
      keep: CurvePoint(format: nil, ranks: [], params: 72, error: 0))
    XCTAssertEqual(s.reference?.format, .svd, "the reference probe is in svd")
    XCTAssertEqual(s.reference?.ranks, [2])
    XCTAssertEqual(s.responseError(CurvePoint(format: .tucker2, ranks: [1, 2], params: 0, error: 9)), 0.2)
    s.probes = [(0.3, 0.06)]  // g = 0.2, whatever the format
    let all = s.allocationCurve(aligned: false)
    for (got, want) in zip(all.map(\.error), [0.12, 0.06, 0.02, 0.04, 0.01, 0]) { XCTAssertEqual(got, want, accuracy: 1e-12) }
    XCTAssertEqual(all.count, 6)
    XCTAssertEqual(s.allocationCurve(aligned: true).map(\.ranks), [[2], [2, 4], []], "aligned points per format")
    // At cost 12 tucker2 [1, 2] (0.04) beats svd rank 1 (0.12); at 22, tucker2 [2, 4] beats svd rank 2.
    XCTAssertEqual(allocate(curves: [all], budget: 12).first?.ranks, [1, 2])
    XCTAssertEqual(allocate(curves: [all], budget: 22).first?.format, .tucker2)
    XCTAssertEqual(allocate(curves: [all], budget: 22).first?.ranks, [2, 4])
    XCTAssertEqual(allocate(curves: [all], budget: 10).first?.format, .svd)
  }
}
