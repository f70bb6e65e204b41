import Executor
import ONNX

/// The original model's outputs on the check inputs, and the error of any candidate against them.
struct OutputBench {
  let inputs: [[String: TensorValue]]
  /// How the inputs were made, for the report.
  let inputsDescription: String
  private let references: [[String: TensorValue]]
  private let executorOptions: ExecutorOptions
  /// The largest data-shaped tensor the check's runs may build (2²⁸ elements, 1 GiB of Float):
  /// the check runs every model it is given, and a crafted Tile or Resize must end in
  /// "unavailable", not in gigabytes allocated. `onnx-rstd run` keeps the executor's 2³².
  static let maxElements = 1 << 28
  /// The executor settings of every run the check makes.
  static func executorOptions(_ check: OutputCheck) -> ExecutorOptions {
    ExecutorOptions(threads: check.threads, maxElements: maxElements)
  }

  /// Model runs so far (the original's included).
  private(set) var runs = 0
  /// Response statistics of the watched Conv outputs, from the original's runs.
  let statistics: ResponseStatistics

  /// Runs `original` on the check's inputs (given, or synthetic from the declared shapes).
  /// - Throws: `OutputCheckUnavailable` when the model cannot be compiled or run on them.
  /// - Parameters:
  ///   - watching: Conv outputs (with their channel counts) whose statistics to collect.
  ///   - compiled: `original` already compiled with `executorOptions(check)`, if it was.
  ///   - patches: Conv sites (by output name) whose input-patch statistics to collect.
  init(
    original: Model, check: OutputCheck, seed: UInt64, watching: [String: Int] = [:], patches: [String: PatchSpec] = [:],
    compiled: Executor? = nil
  ) throws {
    executorOptions = OutputBench.executorOptions(check)
    let executor: Executor
    do { executor = try compiled ?? Executor(model: original, options: executorOptions) } catch {
      throw OutputCheckUnavailable("the executor cannot run this model: \(error)")
    }
    if let given = check.inputs {
      guard !given.isEmpty else { throw OutputCheckUnavailable("no calibration inputs") }
      inputs = given
      inputsDescription = "calibration: \(given.count) sample(s)" + (check.inputsSource.map { " from \($0)" } ?? "")
    } else {
      let names = executor.plan.inputNames
      let made = try SyntheticInputs.make(
        count: max(1, check.samples), names: names, declared: original.graph.inputs,
        overrides: check.inputShapes, seed: seed)
      inputs = made
      let shapes = names.map { "\($0)=\(made[0][$0]!.shape.map(String.init).joined(separator: "x"))" }
      inputsDescription = "synthetic: \(made.count) × normal(0, 1), \(shapes.joined(separator: ", "))"
    }
    var references: [[String: TensorValue]] = []
    let described = inputsDescription
    var statistics = ResponseStatistics(
      watching: watching.filter { executor.plan.canObserve($0.key) }, patches: patches.filter { executor.plan.canObserve($0.value.input) })
    let observed = statistics.observed
    for x in inputs {
      do { references.append(try executor.run(x, observing: observed) { statistics.add($0, $1) }) } catch {
        throw OutputCheckUnavailable("the model does not run on the check inputs (\(described)): \(error)")
      }
    }
    // Outputs that are not finite cannot be compared (inputs beyond the model's range, e.g.
    // overflowing activations): the check cannot measure anything on them.
    for (n, y) in references.enumerated() {
      for name in y.keys.sorted() {
        guard let f = y[name]?.floats, f.contains(where: { !$0.isFinite }) else { continue }
        throw OutputCheckUnavailable("the original model's output '\(name)' is NaN or infinite on check input \(n + 1) (\(described))")
      }
    }
    self.references = references
    self.statistics = statistics
    runs = inputs.count
  }

  /// The outputs' difference between `candidate` and the original. A candidate that fails to
  /// compile or run has infinite error: it is never accepted.
  mutating func difference(of candidate: Model, inputs limit: Int = .max) -> OutputDifference? {
    guard let executor = try? Executor(model: candidate, options: executorOptions) else { return nil }
    var d = OutputDifference()
    for (x, y) in zip(inputs, references).prefix(limit) {
      runs += 1
      guard let z = try? executor.run(x) else { return nil }
      d.add(reference: y, candidate: z)
    }
    return d
  }

  /// Runs `executor` (any model compiled with `options`) on check input `s`, handing the values
  /// named in `observing` to `observer` as they are produced; counts the run.
  mutating func run(
    _ executor: Executor, sample s: Int, observing: Set<String>, observer: (String, TensorValue) throws -> Void
  ) throws -> [String: TensorValue] {
    runs += 1
    return try executor.run(inputs[s], observing: observing, observer: observer)
  }

  /// Runs `executor` on check input `s` only as far as the values named in `observing` (the
  /// prefix of the graph they lie in: `Executor.observe`), handing them to `observer`; counts
  /// the run (a partial one).
  mutating func observe(
    _ executor: Executor, sample s: Int, observing: Set<String>, observer: (String, TensorValue) throws -> Void
  ) throws {
    runs += 1
    try executor.observe(inputs[s], observing: observing, observer: observer)
  }

  /// The original's outputs on check input `s`.
  func reference(_ s: Int) -> [String: TensorValue] { references[s] }

  /// Output values the probes of the default count measure on at least (`probeInputs`).
  static let probeOutputValues = 4096
  /// Probe inputs of the default count: at least 2, at most 32.
  static let probeInputRange = 2...32

  /// Inputs a single-site probe runs: `requested`, or by default the fewest of the first inputs
  /// whose original outputs hold `probeOutputValues` values, within `probeInputRange` and the
  /// inputs there are. A detector's map gives millions of values on 2 inputs; a classifier's 2
  /// logits on 2 inputs measure almost nothing (PP-OCR cls, 128 calibration lines, --ratio 0.5
  /// without the latency guard: measured error 0.57 with probes on 2 inputs, 0.29 on 8, 0.19 on 32).
  func probeInputs(_ requested: Int?) -> Int {
    if let requested { return min(requested, inputs.count) }
    let perInput = max(references.first?.values.reduce(0) { $0 + $1.count } ?? 1, 1)
    let wanted = (Self.probeOutputValues + perInput - 1) / perInput
    return min(max(wanted, Self.probeInputRange.lowerBound), Self.probeInputRange.upperBound, inputs.count)
  }

  /// The executor settings of the bench's runs.
  var options: ExecutorOptions { executorOptions }

  /// The largest relative output error of `candidate` (infinite when it does not run).
  mutating func error(of candidate: Model, inputs limit: Int = .max) -> Double {
    difference(of: candidate, inputs: limit)?.error ?? .infinity
  }
}
