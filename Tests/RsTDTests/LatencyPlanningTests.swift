import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// The planner's use of the runtime cost model: the latency guard, rank alignment, the latency
/// objective, and the predicted latencies in the report.
final class LatencyPlanningTests: XCTestCase {
  /// A [M, C, 3, 3] conv whose kernel has a decaying spectrum (rank-40 signal plus noise).
  private func decayingModel(_ m: Int, _ c: Int, seed: UInt64 = 3) throws -> Model {
    var rng = SeededNormal(seed: seed)
    var w = matmul(rng.tensor([m, 40]), rng.tensor([40, c * 9]))
    let noise = rng.tensor([m, c * 9])
    for i in w.scalars.indices { w.scalars[i] += 2 * noise.scalars[i] }
    return try TestModel.conv(weightShape: [m, c, 3, 3], weight: w.reshaped([m, c, 3, 3]))
  }

  private func plan(_ model: Model, _ options: RewriteOptions, positions: Int) throws -> (PlanDecision, Planner, ConvSite) {
    let site = try onlySite(model, options)
    let geometry = SiteGeometries(outputPositions: [site.node.outputs[0]: positions], basis: "test")
    let planner = Planner(options: options, opset: 13, geometry: geometry)
    return (try planner.plan([PlannedSite(site, kernel: try site.kernel(in: model.graph))])[0], planner, site)
  }

  func testMaxErrorRanksAreBlockMultiples() throws {
    let model = try decayingModel(64, 64)
    var options = RewriteOptions()
    options.method = .svd
    options.ranks = .maxError(0.3)
    let (aligned, _, _) = try plan(model, options, positions: 56 * 56)
    guard case .factor(_, let r) = aligned else { return XCTFail("\(aligned)") }
    XCTAssertEqual(r[0] % 16, 0, "rank \(r)")
    options.channelAlign = 1
    let (free, _, _) = try plan(model, options, positions: 56 * 56)
    guard case .factor(_, let f) = free else { return XCTFail("\(free)") }
    // Unaligned, the policy takes the smallest rank under the bound; aligned rounds it up.
    XCTAssertLessThanOrEqual(f[0], r[0])
    XCTAssertGreaterThan(f[0], r[0] - 16)
    XCTAssertNotEqual(f[0] % 16, 0, "the test needs a bound whose smallest rank is not a block multiple")
  }

  func testAChainPredictedSlowerIsKeptUnlessTheGuardIsOff() throws {
    let model = try TestModel.conv(weightShape: [8, 8, 3, 3])
    var options = RewriteOptions()
    options.method = .svd
    options.ranks = .fixed(2)
    let (kept, planner, site) = try plan(model, options, positions: 64)
    guard case .keep(.slowerThanDense(let before, let after)) = kept else { return XCTFail("\(kept)") }
    XCTAssertEqual(before, planner.denseLatency(site))
    XCTAssertGreaterThanOrEqual(after, before)
    options.latencyGuard = false
    let (emitted, _, _) = try plan(model, options, positions: 64)
    guard case .factor(.svd, [2]) = emitted else { return XCTFail("\(emitted)") }
    options.latencyGuard = true
    options.force = true
    let (forced, _, _) = try plan(model, options, positions: 64)
    guard case .factor(.svd, [2]) = forced else { return XCTFail("\(forced)") }
  }

  func testLatencyObjectiveKeepsThePredictedLatencyWithinTheRatio() throws {
    let model = try TestModel.chain(
      [.init("conv0", outputChannels: 64), .init("conv1", outputChannels: 64), .init("conv2", outputChannels: 128)], inputChannels: 64)
    var options = RewriteOptions()
    options.ranks = .ratio(0.5)
    options.objective = .latency
    let found = try SiteFinder(graph: model.graph, options: options).decisions().compactMap { d -> ConvSite? in
      if case .rewrite(let s) = d { s } else { nil }
    }
    var positions: [String: Int] = [:]
    for s in found { positions[s.node.outputs[0]] = 56 * 56 }
    let planner = Planner(options: options, opset: 13, geometry: SiteGeometries(outputPositions: positions, basis: "test"))
    let plans = try planner.plan(try found.map { PlannedSite($0, kernel: try $0.kernel(in: model.graph)) })
    var before = 0.0, after = 0.0
    for (s, p) in zip(found, plans) {
      before += planner.denseLatency(s)
      if case .factor(let m, let r) = p { after += planner.latency(s, planner.formatFor(m), ranks: r) } else { after += planner.denseLatency(s) }
    }
    XCTAssert(plans.contains { if case .factor = $0 { true } else { false } }, "\(plans)")
    XCTAssertLessThanOrEqual(after, 0.5 * before + 1e-3 * before, "predicted \(after) of \(before) µs")
  }

  func testReportRowsCarryPredictedLatencies() throws {
    let model = try decayingModel(32, 32)
    var options = RewriteOptions()
    options.method = .svd
    options.ranks = .fixed(16)
    options.latencyGuard = false
    options.check.enabled = false
    let rows = try rewritten(model, options).rows
    XCTAssertEqual(rows[0].status, .rewritten)
    let (before, after) = (try XCTUnwrap(rows[0].predictedMicrosBefore), try XCTUnwrap(rows[0].predictedMicrosAfter))
    XCTAssertGreaterThan(before, 0)
    XCTAssertNotEqual(before, after)
    options.ranks = .conservative
    options.exclude = ["conv0"]
    let kept = try rewritten(model, options).rows[0]
    XCTAssertEqual(kept.predictedMicrosBefore, kept.predictedMicrosAfter)
  }
}

/// `preferAligned`: aligned points when there are, else all (a bound only an unaligned rank meets).
final class PreferAlignedTests: XCTestCase {
  func testAlignedPointsWinAndUnalignedAreTheFallback() {
    var a = CurvePoint(format: .svd, ranks: [16], params: 160, error: 0.2)
    var b = CurvePoint(format: .svd, ranks: [12], params: 120, error: 0.25)
    b.aligned = false
    XCTAssertEqual(preferAligned([a, b]), [a])
    a.aligned = false
    XCTAssertEqual(preferAligned([a, b]), [a, b])
    XCTAssertEqual(preferAligned([]), [])
  }
}

/// Positions from a file's dims and strides saturate instead of trapping.
final class CappedProductTests: XCTestCase {
  func testProductsSaturateAndTreatZeroAsOne() {
    XCTAssertEqual(cappedProduct([2, 3, 4]), 24)
    XCTAssertEqual(cappedProduct([0, 5]), 5)
    XCTAssertEqual(cappedProduct([]), 1)
    XCTAssertEqual(cappedProduct([1 << 30, 1 << 30, Int.max]), 1 << 40)
    XCTAssertEqual(cappedProduct([Int.max, Int.max]), 1 << 40)
  }
}
