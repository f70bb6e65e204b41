import Executor
import Foundation
import XCTest

/// ONNX's backend node tests for every op the executor implements.
///
/// Fails when a test in `ExpectedNodeTestPasses` stops passing, or when a test gives a wrong
/// answer that `KnownNodeTestFailures` does not explain. Tests rejected before running
/// (unsupported attribute value, string type, ...) are out of scope and listed with the reason.
///
/// Regenerate the table: `EXECUTOR_NODE_TABLE=docs/executor.md swift test --filter NodeConformanceTests`
/// (add `EXECUTOR_NODE_EXPECTED=Tests/ExecutorTests/NodeConformance/ExpectedNodeTestPasses.swift`
/// to rewrite the expected-pass list after a deliberate change).
final class NodeConformanceTests: XCTestCase {
  func testNodeTestsOfImplementedOps() throws {
    let runner = NodeTestRunner(root: NodeTestRunner.defaultRoot)
    guard FileManager.default.fileExists(atPath: runner.root) else {
      return XCTFail("\(runner.root) is missing: install Debian's libonnx-testdata (Scripts/install-deps)")
    }
    let implemented = Set(ExecutionPlan.supportedOpTypes)
    var results: [(name: String, op: String, outcome: NodeTestOutcome)] = []
    for name in try runner.testNames() {
      let op = runner.opUnderTest(name)
      guard implemented.contains(op) else { continue }
      results.append((name, op, runner.run(name)))
    }
    // The converted-model suites (pytorch-converted, pytorch-operator, simple): every test,
    // whatever its ops, under the suite's name.
    for suite in NodeTestRunner.modelSuites {
      let suiteRunner = NodeTestRunner(root: "\(NodeTestRunner.dataRoot)/\(suite)")
      for name in try suiteRunner.testNames() {
        results.append(("\(suite)/\(name)", "(\(suite))", suiteRunner.run(name)))
      }
    }
    let outcome = Dictionary(uniqueKeysWithValues: results.map { ($0.name, $0.outcome) })
    let table = NodeTestTable(results: results)
    print(table.text)
    let env = ProcessInfo.processInfo.environment
    if let path = env["EXECUTOR_NODE_TABLE"] { try table.markdown.write(toFile: path, atomically: true, encoding: .utf8) }
    if let path = env["EXECUTOR_NODE_EXPECTED"] { try table.expectedPassesSource.write(toFile: path, atomically: true, encoding: .utf8) }

    for name in ExpectedNodeTestPasses.names.sorted() {
      XCTAssertEqual(outcome[name], .passed, "\(name) regressed: \(outcome[name]?.reason ?? "not run")")
    }
    for r in results {
      if case .failed(let why) = r.outcome, KnownNodeTestFailures.reasons[r.name] == nil {
        XCTFail("\(r.name) (\(r.op)) gives a wrong answer: \(why)")
      }
    }
    // A floor for the whole slice, so an emptied expected list cannot pass silently.
    XCTAssertGreaterThanOrEqual(results.filter { $0.outcome.isPass }.count, ExpectedNodeTestPasses.names.count)
    XCTAssertGreaterThan(ExpectedNodeTestPasses.names.count, 300)
  }

  /// The same bits for 1 and 2 threads on the conv and gemm tests.
  func testThreadCountDoesNotChangeBits() throws {
    let runner = NodeTestRunner(root: NodeTestRunner.defaultRoot)
    for name in ["test_conv_with_strides_padding", "test_gemm_all_attributes", "test_matmul_4d"] {
      XCTAssertEqual(runner.run(name, threads: 1), .passed, name)
      XCTAssertEqual(runner.run(name, threads: 2), .passed, name)
    }
  }
}
