import Executor
import ONNX

/// The storage allocation's candidates measured without building them.
///
/// A candidate is the original with some weights stored (`Rewriter.storeKept`), each rebuilt by
/// nodes that fold to its `QuantizedWeight.dequantized` values; the original's plan run with
/// those values in place of the weights (`Executor.run(_:replacing:)`) gives its outputs bit for
/// bit, with no model edited or compiled per candidate (at 8,000 weights, storing and compiling
/// were ≈ 0.7 s of each of the bisection's 13 steps; each probe's stretch, ≈ 25 ms of its 58).
///
/// Trusted only once checked on the model with every weight stored: its measured difference,
/// compiled, must equal the original's plan's with every value replaced. Otherwise (or when the
/// plan cannot replace a weight: read by other nodes, made by a Constant node) there is none,
/// and the allocation builds and compiles each candidate.
struct StoredWeightRuns {
  private let executor: Executor
  /// By stored weight, the values its rebuild folds to.
  private let values: [String: TensorValue]

  /// - Parameters:
  ///   - stored: the weights the model with every weight stored stores.
  ///   - allStored: that model's measured difference (compiled and run).
  init?(original: Model, stored: [String], allStored: OutputDifference, rewriter: Rewriter, bench: inout OutputBench) throws {
    // The probes' plan of the original when the bench holds one (the same compile).
    guard let opset = original.opsetVersion(""), let executor = try? bench.originalPlan ?? Executor(model: original, options: bench.options)
    else { return nil }
    var values: [String: TensorValue] = [:]
    for w in stored {
      guard executor.plan.canReplace(w), case .stored(let q, let shape, _, _) = try rewriter.keptForm(w, in: original.graph, opset: opset)
      else { return nil }
      values[w] = TensorValue(shape: shape, floats: q.dequantized)
    }
    guard let replaced = bench.difference(running: executor, replacing: values), replaced.perOutput == allStored.perOutput else {
      return nil
    }
    (self.executor, self.values) = (executor, values)
  }

  /// The probes of storing each group of weights alone (`groups[i]`, which only nodes making
  /// `readers[i]` read), from the bench's held cuts on its first `inputs` probe inputs, side by
  /// side (`OutputBench.differences`); nil for a group whose cut is not held.
  func probes(storing groups: [[String]], readers: [Set<String>], inputs: Int, bench: inout OutputBench) -> [OutputDifference?] {
    let probes = zip(groups, readers).map { names, after in
      let replacing = Dictionary(uniqueKeysWithValues: names.compactMap { w in values[w].map { (w, $0) } })
      // A weight without stored values: no cut, no run (nil).
      return (replacing: replacing, after: replacing.count == names.count ? after : [])
    }
    return bench.differences(resuming: executor, probes: probes, inputs: inputs)
  }

  /// The measured difference of the original with every stored weight but those in `kept` stored.
  func difference(keeping kept: [String: Double], bench: inout OutputBench) -> OutputDifference? {
    bench.difference(running: executor, replacing: values.filter { kept[$0.key] == nil })
  }
}
