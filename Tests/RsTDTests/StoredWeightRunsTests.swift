import ONNX
import RsTDTestSupport
import XCTest

@testable import RsTD

/// The storage allocation measures its candidates on the original's plan with the stored values
/// in place (`StoredWeightRuns`): the same differences as the candidates built and compiled.
final class StoredWeightRunsTests: XCTestCase {
  private func model() throws -> Model {
    try TestModel.chain(
      [
        .init("a", outputChannels: 16), .init("b", outputChannels: 16), .init("c", outputChannels: 16),
        .init("d", outputChannels: 8, kernel: [1, 1]),
      ], inputChannels: 8, seed: 7)
  }

  private func rewriter(_ weights: WeightStorage) -> Rewriter {
    var o = RewriteOptions()
    o.include = ["__none__"]
    o.weights = weights
    return Rewriter(options: o)
  }

  func testReplacedRunsMeasureWhatTheBuiltCandidatesDo() throws {
    for storage in [WeightStorage.fp16, .int8] {
      let original = try model(), r = rewriter(storage)
      var bench = try OutputBench(original: original, check: OutputCheck(), seed: 1)
      let all = try r.storing(original, keeping: [:])
      XCTAssertEqual(all.stored.count, 4)
      let allStored = try XCTUnwrap(bench.difference(of: all.model))
      let runsBefore = bench.runs
      let runs = try XCTUnwrap(
        try StoredWeightRuns(original: original, stored: all.stored.map(\.name), allStored: allStored, rewriter: r, bench: &bench),
        "\(storage)")
      XCTAssertEqual(bench.runs, runsBefore + bench.inputs.count, "the check runs every input once")
      for kept in [[:], ["a.w": 0.0], ["b.w": 0, "d.w": 0], ["a.w": 0, "b.w": 0, "c.w": 0]] as [[String: Double]] {
        let built = try r.storing(original, keeping: kept)
        let expected = try XCTUnwrap(bench.difference(of: built.model)).perOutput
        XCTAssertEqual(runs.difference(keeping: kept, bench: &bench)?.perOutput, expected, "\(storage), keeping \(kept.keys.sorted())")
        XCTAssertGreaterThan(expected["y"] ?? 0, 0)
      }
    }
  }

  /// The check is what makes the replaced runs trusted: a difference they do not reproduce
  /// (here the original's own, zero) leaves the allocation to build its candidates.
  func testADifferenceTheReplacedRunsDoNotGiveLeavesNone() throws {
    let original = try model(), r = rewriter(.fp16)
    var bench = try OutputBench(original: original, check: OutputCheck(), seed: 1)
    let all = try r.storing(original, keeping: [:])
    XCTAssertNil(try StoredWeightRuns(original: original, stored: all.stored.map(\.name), allStored: bench.unchanged, rewriter: r, bench: &bench))
    // A weight the original's plan cannot replace (not an initializer of it) leaves none either.
    let allStored = try XCTUnwrap(bench.difference(of: all.model))
    XCTAssertNil(try StoredWeightRuns(original: original, stored: ["nope"], allStored: allStored, rewriter: r, bench: &bench))
  }
}
