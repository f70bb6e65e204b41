import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// Options for a lossless verification plan: `method` at full rank with `force`.
/// Options for tests of the chains and policies themselves on models far too small for any chain
/// to run faster than its conv in onnxruntime: the latency guard and rank alignment off
/// (LatencyPlanningTests covers both).
func chainTestOptions() -> RewriteOptions {
  var o = RewriteOptions()
  o.latencyGuard = false
  o.channelAlign = 1
  return o
}

func fullRankOptions(_ method: Method, layout: Layout = .factorized, shuffle: ShuffleMode = .none) -> RewriteOptions {
  var o = RewriteOptions()
  o.method = method
  o.layout = layout
  o.shuffle = shuffle
  o.ranks = .full
  o.force = true
  return o
}

/// `model` rewritten with `options`, and the report rows.
func rewritten(_ model: Model, _ options: RewriteOptions) throws -> (model: Model, rows: [SiteReport]) {
  var m = model
  let rows = try Rewriter(options: options).rewrite(&m)
  return (m, rows)
}

/// The SiteFinder decisions of `model` under `options`.
func decisions(_ model: Model, _ options: RewriteOptions = RewriteOptions()) throws -> [SiteDecision] {
  try SiteFinder(graph: model.graph, options: options).decisions()
}

/// The one site `model` has under `options`, or a test failure.
func onlySite(_ model: Model, _ options: RewriteOptions = RewriteOptions(), file: StaticString = #filePath, line: UInt = #line) throws -> ConvSite {
  let d = try decisions(model, options)
  guard d.count == 1, case .rewrite(let site) = d[0] else {
    XCTFail("expected one site to rewrite, got \(d)", file: file, line: line)
    throw UnexpectedDecisions()
  }
  return site
}

/// Thrown after a failed precondition of a test, to stop it.
struct UnexpectedDecisions: Error {}

/// How many nodes of each op type the graph holds.
func opCounts(_ graph: Graph) -> [String: Int] {
  graph.nodes.reduce(into: [:]) { $0[$1.opType, default: 0] += 1 }
}

/// The skip reason of a `.keep` decision, nil for `.rewrite`.
func keptReason(_ d: SiteDecision) -> SkipReason? {
  if case .keep(_, let r) = d { return r }
  return nil
}

/// What breaks the graph hygiene every rewrite promises: a node reading
/// a value not defined before it (topological order), a value defined twice, a node name used
/// twice. Empty when the graph is well formed.
func hygieneProblems(_ model: Model) throws -> [String] {
  let contents = try ModelContents(model)
  var problems: [String] = []
  var available = Set(contents.initializers).union(contents.inputs)
  available.insert("")
  var defined = Set(contents.initializers)
  for (i, n) in model.graph.nodes.enumerated() {
    for x in n.inputs where !available.contains(x) {
      problems.append("node \(i) '\(n.name)' (\(n.opType)) reads '\(x)' before it is defined")
    }
    for o in n.outputs {
      if !defined.insert(o).inserted { problems.append("value '\(o)' is defined twice") }
      available.insert(o)
    }
  }
  var names: Set<String> = []
  for n in model.graph.nodes where !names.insert(n.name).inserted { problems.append("node name '\(n.name)' is used twice") }
  return problems
}

/// Asserts `hygieneProblems(model)` is empty.
func assertWellFormed(_ model: Model, file: StaticString = #filePath, line: UInt = #line) throws {
  let problems = try hygieneProblems(model)
  XCTAssert(problems.isEmpty, problems.joined(separator: "; "), file: file, line: line)
}
