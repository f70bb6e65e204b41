import Foundation

/// The per-op summary of a node-test run, as console text, markdown and a Swift source file.
struct NodeTestTable {
  let results: [(name: String, op: String, outcome: NodeTestOutcome)]

  /// Ops in name order, then the converted-model suites (labelled "(suite)").
  private var ops: [String] {
    let all = Array(Set(results.map(\.op)))
    return all.filter { !$0.hasPrefix("(") }.sorted() + all.filter { $0.hasPrefix("(") }.sorted()
  }

  private func counts(_ op: String) -> (passed: Int, failed: Int, outOfScope: Int, total: Int) {
    let rows = results.filter { $0.op == op }
    var p = 0, f = 0, o = 0
    for r in rows {
      switch r.outcome {
      case .passed: p += 1
      case .failed: f += 1
      case .outOfScope: o += 1
      }
    }
    return (p, f, o, rows.count)
  }

  private var totals: (passed: Int, failed: Int, outOfScope: Int, total: Int) { sum(ops) }

  /// The node suite alone (per-op tests, without the converted-model suites).
  private var nodeTotals: (passed: Int, failed: Int, outOfScope: Int, total: Int) { sum(ops.filter { !$0.hasPrefix("(") }) }

  private func sum(_ selected: [String]) -> (passed: Int, failed: Int, outOfScope: Int, total: Int) {
    var p = 0, f = 0, o = 0, t = 0
    for op in selected {
      let c = counts(op)
      p += c.passed
      f += c.failed
      o += c.outOfScope
      t += c.total
    }
    return (p, f, o, t)
  }

  var text: String {
    var lines = ["op                         passed failed out-of-scope total"]
    for op in ops {
      let c = counts(op)
      lines.append(op.padding(toLength: 26, withPad: " ", startingAt: 0) + " \(pad(c.passed, 6)) \(pad(c.failed, 6)) \(pad(c.outOfScope, 12)) \(pad(c.total, 5))")
    }
    let t = totals
    lines.append("TOTAL".padding(toLength: 26, withPad: " ", startingAt: 0) + " \(pad(t.passed, 6)) \(pad(t.failed, 6)) \(pad(t.outOfScope, 12)) \(pad(t.total, 5))")
    for r in results where !r.outcome.isPass {
      lines.append("\(r.outcome.isFailure ? "FAIL" : "SKIP") \(r.name): \(r.outcome.reason ?? "")")
    }
    return lines.joined(separator: "\n")
  }

  var markdown: String {
    let t = totals, nt = nodeTotals
    var md = """
      # Executor

      `Sources/Executor` runs an ONNX model on CPU, in process, with no Python:

      ```swift
      let executor = try Executor(model: try Model.load(path: "model.onnx"))   // compile once
      let outputs = try executor.run(["x": TensorValue(shape: [1, 3, 32, 32], floats: pixels)],
                                     observing: ["conv1_in"]) { name, value in /* statistics */ }
      ```

      - **Compile once** (`ExecutionPlan`): nodes in topological order; each node's op built once
        from its attributes (one op type per file in `Sources/Executor/Ops`); any attribute an op
        does not read, any unsupported op, attribute value or opset is a one-line
        `ExecutorError` naming the node and op, before anything runs; nodes whose inputs are all
        constants are folded; every value gets a slot and is released after its last reader.
      - **Types**: float32 compute (FLOAT16/BFLOAT16/DOUBLE inputs are computed as FLOAT), INT64
        (all integer types, wrapped to their width) and BOOL.
      - **Kernels**: Conv and ConvTranspose via im2col/col2im + OpenBLAS `cblas_sgemm` (1×1 convs
        multiply the input directly), Gemm/MatMul via sgemm. Work is cut into pieces fixed by
        the shapes (conv column blocks, gemm row blocks), each run by single-threaded OpenBLAS,
        so 1 or 2 threads give the same bits (tested).
      - **Hooks**: `run(_:observing:observer:)` hands each named value to the observer as it
        is produced; nothing else is kept alive for it.
      - **Model check**: `Tests/conformance/test_executor.py` runs every model under `Models/`,
        digits_cnn on its real images, digits_cnn/conv_chain rewritten in six formats and the
        onnx wheel's nine `light/` models through `bench-executor`, against onnxruntime
        (relative L2 ≤ 1e-4); and every node test with its inputs made wrong three ways (2730
        runs) ends in an answer or a one-line error, never a crash.

      ## ONNX node conformance

      Every test of ONNX's backend node suite (Debian `libonnx-testdata`, onnx 1.12,
      `/usr/share/libonnx-testdata/data/node`) whose op the executor implements, run through
      `Executor` and compared with the stored outputs: |actual − expected| ≤ 1e-7 + 1e-3·|expected|
      (onnx's backend-test defaults, rtol 1e-3, atol 1e-7); integers and booleans exactly.
      `_expanded` tests (the op's function body) count under the op they expand. The last rows
      are the small converted models of the `pytorch-converted`, `pytorch-operator` and `simple`
      suites, run whole whatever their ops.
      *Out of scope* means the executor rejected the model before running, with a one-line
      reason (listed below); *failed* means it ran and did not match.

      Made by: `EXECUTOR_NODE_TABLE=docs/executor.md swift test --filter NodeConformanceTests`

      **Node tests of the implemented ops (\(ops.filter { !$0.hasPrefix("(") }.count) ops have tests): \(nt.passed) passed / \(nt.total)
      (\(percent(nt.passed, nt.total)); \(nt.failed) failed, \(nt.outOfScope) out of scope; \(percent(nt.passed, nt.total - nt.outOfScope))
      of in-scope tests pass). With the converted-model suites: \(t.passed) / \(t.total).**

      Speed: `bench/executor/results.md`.

      | op | passed | failed | out of scope | total |
      |---|---:|---:|---:|---:|

      """
    for op in ops {
      let c = counts(op)
      md += "| \(op) | \(c.passed) | \(c.failed) | \(c.outOfScope) | \(c.total) |\n"
    }
    md += "| **total** | **\(t.passed)** | **\(t.failed)** | **\(t.outOfScope)** | **\(t.total)** |\n"
    md += "\n## Tests that do not pass\n\n| test | op | outcome | reason |\n|---|---|---|---|\n"
    for r in results where !r.outcome.isPass {
      let reason = (r.outcome.reason ?? "").replacingOccurrences(of: "|", with: "\\|")
      md += "| \(r.name) | \(r.op) | \(r.outcome.isFailure ? "failed" : "out of scope") | \(reason) |\n"
    }
    return md
  }

  var expectedPassesSource: String {
    let names = results.filter { $0.outcome.isPass }.map(\.name).sorted()
    return """
      /// Node tests that pass today; regenerated by NodeConformanceTests (see there).
      enum ExpectedNodeTestPasses {
        static let names: Set<String> = [
      \(names.map { "    \"\($0)\"," }.joined(separator: "\n"))
        ]
      }

      """
  }

  private func pad(_ n: Int, _ width: Int) -> String {
    let s = String(n)
    return String(repeating: " ", count: max(0, width - s.count)) + s
  }

  private func percent(_ a: Int, _ b: Int) -> String {
    b == 0 ? "n/a" : String(format: "%.1f%%", 100 * Double(a) / Double(b))
  }
}

extension NodeTestOutcome {
  var isFailure: Bool { if case .failed = self { true } else { false } }
}
