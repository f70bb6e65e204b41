import Executor

/// How far a model's outputs moved, accumulated over runs on the same inputs: one
/// `OutputDeviation` per output (relative L2 for floating-point outputs, the fraction of differing
/// elements for integer and boolean ones, 1 for an output whose shape or type changed). The
/// model's error is the largest over its outputs: every output must stay close.
struct OutputDifference {
  private var outputs: [String: OutputDeviation] = [:]

  /// Adds one run.
  mutating func add(reference: [String: TensorValue], candidate: [String: TensorValue]) {
    for (name, y) in reference {
      outputs[name, default: OutputDeviation(name: name)].add(reference: y, candidate: candidate[name])
    }
  }

  /// The error of each output.
  var perOutput: [String: Double] { outputs.mapValues(\.error) }

  /// The largest error over the outputs.
  var error: Double { perOutput.values.max() ?? 0 }
}
