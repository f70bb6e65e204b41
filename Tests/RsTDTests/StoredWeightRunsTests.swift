import ONNX
import RsTDTestSupport
import XCTest

@testable import RsTD

/// The storage allocation measures its candidates on the original's plan with the stored values
/// in place (`StoredWeightRuns`): the same differences as the candidates built and compiled.
final class StoredWeightRunsTests: XCTestCase {
  private func model() throws -> Model { try StorageAllocationTests.model() }

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

  /// A probe stores one group of weights and resumes the original from the held cut before
  /// their first reader: the difference of the whole model with that group alone stored.
  func testProbesFromHeldCutsMeasureWhatTheWholeCandidatesDo() throws {
    let original = try model(), r = rewriter(.fp16)
    var bench = try OutputBench(original: original, check: OutputCheck(), seed: 1)
    let all = try r.storing(original, keeping: [:])
    let groups = [["b.w"], ["c.w", "d.w"]]
    let readers = groups.map { g in Set(g.flatMap { original.graph.consumers(of: $0).compactMap { original.graph.node($0).outputs.first } }) }
    bench.holdCuts(original: original, groups: readers, probeInputs: 1, bytes: 1 << 20)
    XCTAssertTrue(bench.holdsCuts)
    let runs = try XCTUnwrap(
      try StoredWeightRuns(
        original: original, stored: all.stored.map(\.name), allStored: try XCTUnwrap(bench.difference(of: all.model)), rewriter: r,
        bench: &bench))
    let prefixRuns = bench.prefixRuns
    let first = Set(original.graph.consumers(of: "a.w").compactMap { original.graph.node($0).outputs.first })
    let probes = runs.probes(storing: groups + [["nope"], ["a.w"]], readers: readers + [readers[0], first], inputs: 1, bench: &bench)
    XCTAssertEqual(bench.prefixRuns, prefixRuns + 2, "each held group ran once from its cut")
    XCTAssertNil(probes[2], "a weight with no stored values is not probed")
    XCTAssertNil(probes[3], "no cut is held before the first node: the caller probes it as before")
    let everything = Set(all.stored.map(\.name))
    for (g, names) in groups.enumerated() {
      let others = Dictionary(uniqueKeysWithValues: everything.subtracting(names).map { ($0, 0.0) })
      let whole = try XCTUnwrap(bench.difference(of: try r.storing(original, keeping: others).model, inputs: 1))
      XCTAssertEqual(probes[g]?.perOutput, whole.perOutput, "\(names)")
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
