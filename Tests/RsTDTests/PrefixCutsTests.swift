import Executor
import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// Probes run from the original's values at a cut (`PrefixCuts`, `OutputBench.difference`): the
/// same outputs, bit for bit, as running the whole candidate.
final class PrefixCutsTests: XCTestCase {
  /// x → Conv a → Relu (r1) → Conv b → Relu (r2) → Conv c → Add(c, r1) (s) → Conv d → y; a's
  /// bias comes from a Constant node (PP-OCR det stores its weights so).
  private func model(cWeight: String = "c.w", aWeightSeed: UInt64 = 1) throws -> Model {
    var b = TestGraphBuilder(opset: 13)
    var g = SeededNormal(seed: 5)
    b.input("x", shape: [1, 3, 8, 8])
    var first = SeededNormal(seed: aWeightSeed)
    b.initializer("a.w", first.tensor([4, 3, 3, 3]))
    b.constantNode(name: "", output: "a.b", g.tensor([4]))
    b.initializer("b.w", g.tensor([4, 4, 3, 3]))
    b.initializer("c.w", g.tensor([4, 4, 1, 1]))
    b.initializer("c.w2", g.tensor([4, 4, 1, 1]))
    b.initializer("d.w", g.tensor([2, 4, 3, 3]))
    let same = [Attribute("kernel_shape", .ints([3, 3])), Attribute("pads", .ints([1, 1, 1, 1]))]
    b.node("Conv", name: "a", inputs: ["x", "a.w", "a.b"], outputs: ["a_out"], attributes: same)
    b.node("Relu", name: "ra", inputs: ["a_out"], outputs: ["r1"])
    b.node("Conv", name: "b", inputs: ["r1", "b.w"], outputs: ["b_out"], attributes: same)
    b.node("Relu", name: "rb", inputs: ["b_out"], outputs: ["r2"])
    b.node("Conv", name: "c", inputs: ["r2", cWeight], outputs: ["c_out"], attributes: [Attribute("kernel_shape", .ints([1, 1]))])
    b.node("Add", name: "skip", inputs: ["c_out", "r1"], outputs: ["s"])
    b.node("Conv", name: "d", inputs: ["s", "d.w"], outputs: ["y"], attributes: same)
    b.output("y", shape: [1, 2, 8, 8])
    return try b.model()
  }

  private func inputs(_ n: Int) -> [[String: TensorValue]] {
    var g = SeededNormal(seed: 9)
    return (0..<n).map { _ in ["x": TensorValue(shape: [1, 3, 8, 8], floats: g.tensor([1, 3, 8, 8]).scalars)] }
  }

  func testACandidateChangingALaterSiteRunsFromTheCutWithTheSameOutputs() throws {
    let original = try model()
    let candidate = try model(cWeight: "c.w2")
    let cuts = try XCTUnwrap(PrefixCuts(original: original.graph, sites: ["b_out", "c_out", "y"]))
    XCTAssertEqual(cuts.cuts.map(\.frontier), [["r1"], ["r1", "r2"], ["s"]])
    // The first node that differs is c: the cut before it, not the later one before d.
    let cut = try XCTUnwrap(cuts.latestCut(for: candidate.graph))
    XCTAssertEqual(cut.frontier, ["r1", "r2"])
    XCTAssertNil(cuts.latestCut(for: try model(aWeightSeed: 2).graph), "a change before every cut")
    let truncated = try XCTUnwrap(cuts.truncated(candidate, at: cut))
    XCTAssertEqual(truncated.graph.nodes.filter { $0.opType != "Constant" }.map(\.name), ["c", "skip", "d"])

    // The truncated model fed the original's values gives the candidate's outputs, bit for bit.
    let reference = try Executor(model: original)
    let whole = try Executor(model: candidate)
    let partial = try Executor(model: truncated)
    for x in inputs(2) {
      var held: [String: TensorValue] = [:]
      try reference.observe(x, observing: Set(cut.frontier)) { held[$0] = $1 }
      let expected = try XCTUnwrap(try whole.run(x)["y"]?.floats)
      let got = try XCTUnwrap(try partial.run(held.merging(x) { a, _ in a })["y"]?.floats)
      XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern))
    }
  }

  /// A check on `n` calibration inputs whose probes run 2 of them.
  private func calibration(_ n: Int) -> OutputCheck {
    var check = OutputCheck()
    check.inputs = inputs(n)
    check.probeSamples = 2
    return check
  }

  /// Probes on calibration inputs run a subset spread over them (a folder grouped by kind —
  /// PP-OCR det's pages, then photos — must not be probed on one kind); synthetic inputs, all
  /// alike, keep the first ones (the default's bytes).
  func testProbesOnCalibrationInputsAreSpreadOverThem() throws {
    XCTAssertEqual(OutputBench.subset(2, of: 4, spread: true), [0, 2])
    XCTAssertEqual(OutputBench.subset(3, of: 32, spread: true), [0, 10, 21])
    XCTAssertEqual(OutputBench.subset(2, of: 4, spread: false), [0, 1])
    XCTAssertEqual(OutputBench.subset(9, of: 4, spread: true), [0, 1, 2, 3])
    let (original, candidate, check) = (try model(), try model(cWeight: "c.w2"), calibration(4))
    var bench = try OutputBench(original: original, check: check, seed: 1, watching: ["b_out": 4, "c_out": 4, "y": 2])
    let probe = try XCTUnwrap(bench.difference(of: candidate, inputs: 2))
    XCTAssertEqual(bench.prefixRuns, 2, "inputs 0 and 2 were held and run from the cut")
    let expected = try wholeDifference(original, candidate, on: [0, 2].map { check.inputs![$0] })
    XCTAssertEqual(probe.perOutput, expected.perOutput)
  }

  /// The difference of `candidate` from `original` on `inputs`, each run whole.
  private func wholeDifference(_ original: Model, _ candidate: Model, on inputs: [[String: TensorValue]]) throws -> OutputDifference {
    var d = OutputDifference()
    let (a, b) = (try Executor(model: original), try Executor(model: candidate))
    for x in inputs { d.add(reference: try a.run(x), candidate: try b.run(x)) }
    return d
  }

  func testTheBenchMeasuresACandidateFromTheCutAsItWouldWhole() throws {
    let (original, candidate, check) = (try model(), try model(cWeight: "c.w2"), calibration(3))
    var bench = try OutputBench(original: original, check: check, seed: 1, watching: ["b_out": 4, "c_out": 4, "y": 2])
    let runs = bench.runs
    // Two inputs held (from the cut), the third run whole.
    let measured = try XCTUnwrap(bench.difference(of: candidate))
    XCTAssertEqual(bench.runs, runs + 3)
    XCTAssertEqual(bench.prefixRuns, 2)
    let probe = try XCTUnwrap(bench.difference(of: candidate, inputs: 2))
    XCTAssertEqual(bench.prefixRuns, 4)
    _ = try XCTUnwrap(bench.difference(of: try model(aWeightSeed: 2), inputs: 2))
    XCTAssertEqual(bench.prefixRuns, 4, "a change before every cut runs whole")
    var expected = OutputDifference()
    var probed = OutputDifference()
    let (a, b) = (try Executor(model: original), try Executor(model: candidate))
    for (n, x) in check.inputs!.enumerated() {
      let (y, z) = (try a.run(x), try b.run(x))
      expected.add(reference: y, candidate: z)
      if n < 2 { probed.add(reference: y, candidate: z) }
    }
    XCTAssertGreaterThan(expected.error, 0)
    XCTAssertEqual(measured.perOutput, expected.perOutput)
    XCTAssertEqual(probe.perOutput, probed.perOutput)
    // A candidate that does not compile is still unmeasurable.
    var broken = candidate
    let c = try XCTUnwrap(broken.graph.nodeIDs.first { broken.graph.node($0).name == "c" })
    var node = broken.graph.node(c)
    node.opType = "NoSuchOp"
    _ = broken.graph.replace(c, with: [node])
    XCTAssertNil(bench.difference(of: broken, inputs: 2))
  }

  /// The back-off probes sites in groups: one cut before the earliest site of each group, with the
  /// frontier the per-site cuts give there.
  func testAGroupIsCutBeforeItsEarliestSite() throws {
    let original = try model()
    let cuts = try XCTUnwrap(PrefixCuts(original: original.graph, groups: [["y", "c_out"], ["b_out"], ["no such value"]]))
    XCTAssertEqual(cuts.cuts.map(\.position), [3, 5], "nodes: a's bias Constant, a, ra, b, rb, c, skip, d")
    XCTAssertEqual(cuts.cuts.map(\.frontier), [["r1"], ["r1", "r2"]])
    XCTAssertEqual(PrefixCuts.firstIndex(in: [2, 4, 9], above: 4), 2)
    XCTAssertEqual(PrefixCuts.firstIndex(in: [2, 4, 9], above: 1), 0)
    XCTAssertEqual(PrefixCuts.firstIndex(in: [2, 4, 9], above: 9), 3)
  }

  /// A bench that watches nothing (weight fits) holds no cuts until the back-off asks for them;
  /// its probes then run from the cut with the outputs a whole run gives.
  func testTheBackOffHoldsCutsOnTheProbeInputsOnly() throws {
    let (original, candidate, check) = (try model(), try model(cWeight: "c.w2"), calibration(4))
    var bench = try OutputBench(original: original, check: check, seed: 1)
    XCTAssertFalse(bench.holdsCuts)
    var tight = bench
    tight.holdCuts(original: original, groups: [["c_out"]], probeInputs: 2, bytes: 0)
    XCTAssertFalse(tight.holdsCuts, "values that do not fit are not held")
    let runs = bench.runs
    bench.holdCuts(original: original, groups: [["c_out"]], probeInputs: 2, bytes: 1 << 20)
    XCTAssertTrue(bench.holdsCuts)
    XCTAssertEqual(bench.runs, runs + 2, "one partial run of the original per probe input")
    let probe = try XCTUnwrap(bench.difference(of: candidate, inputs: 2))
    XCTAssertEqual(bench.prefixRuns, 2, "inputs 0 and 2 (spread over calibration data) run from the cut")
    let expected = try wholeDifference(original, candidate, on: [0, 2].map { check.inputs![$0] })
    XCTAssertGreaterThan(expected.error, 0)
    XCTAssertEqual(probe.perOutput, expected.perOutput)
    // Held already (response fits watch sites): the bench keeps its cuts.
    var watching = try OutputBench(original: original, check: check, seed: 1, watching: ["b_out": 4])
    let before = watching.runs
    watching.holdCuts(original: original, groups: [["c_out"]], probeInputs: 2, bytes: 1 << 20)
    XCTAssertEqual(watching.runs, before)
  }

  /// `graph` with node `node` reading a new weight `name` holding `t`.
  private func reweight(_ graph: inout Graph, node: String, name: String, _ t: Tensor) throws {
    let id = try XCTUnwrap(graph.nodeIDs.first { graph.node($0).name == node })
    graph.addInitializer(name: name, values: t.scalars, shape: t.shape, type: .float)
    graph.setInput(of: id, at: 1, to: name)
  }

  /// A probe changing one group's sites builds only the stretch between its cut and the next,
  /// runs it from the held values and resumes the original's plan after it: the outputs a whole
  /// run of the candidate gives, bit for bit.
  func testAProbeRunsItsStretchAloneAndResumesTheOriginalAfterIt() throws {
    let (original, check) = (try model(), calibration(4))
    var bench = try OutputBench(original: original, check: check, seed: 1)
    XCTAssertNil(bench.stretch(holding: ["b_out"]), "no cuts held yet")
    bench.holdCuts(original: original, groups: [["b_out"], ["c_out"]], probeInputs: 2, bytes: 1 << 20)
    XCTAssertEqual(bench.stretch(holding: ["b_out"])?.graph.nodes.map(\.name), ["b", "rb"])
    XCTAssertEqual(bench.stretch(holding: ["b_out"])?.inputs, ["r1"])
    XCTAssertEqual(bench.stretch(holding: ["c_out"])?.graph.nodes.map(\.name), ["c", "skip", "d"])
    XCTAssertNil(bench.stretch(holding: ["b_out", "y"]), "a site past the next cut")
    var g = SeededNormal(seed: 77)
    for (site, value, shape) in [("b", "b_out", [4, 4, 3, 3]), ("c", "c_out", [4, 4, 1, 1])] {
      let stretch = try XCTUnwrap(bench.stretch(holding: [value]))
      let t = g.tensor(shape)
      var part = Model(graph: stretch.graph, opsets: original.opsets)
      try reweight(&part.graph, node: site, name: "new.w", t)
      var candidate = original
      try reweight(&candidate.graph, node: site, name: "new.w", t)
      let runs = bench.runs
      let probe = try XCTUnwrap(bench.difference(ofStretch: part, stretch, inputs: 2))
      XCTAssertEqual(bench.runs, runs + 2)
      let expected = try wholeDifference(original, candidate, on: [0, 2].map { check.inputs![$0] })
      XCTAssertGreaterThan(expected.error, 0)
      XCTAssertEqual(probe.perOutput, expected.perOutput, "site \(site)")
    }
    // Inputs whose values are not held: measured whole instead.
    let stretch = try XCTUnwrap(bench.stretch(holding: ["c_out"]))
    XCTAssertNil(bench.difference(ofStretch: Model(graph: stretch.graph, opsets: original.opsets), stretch, inputs: 4))
  }
}
