import Executor

/// How far a model's outputs moved, accumulated over runs on the same inputs.
///
/// Floating-point outputs: relative L2 error ‖y − ŷ‖ / ‖y‖ over all runs together (absolute
/// ‖y − ŷ‖ when ‖y‖ = 0). Integer and boolean outputs (labels, indices, masks): the fraction
/// of elements that differ. An output whose shape or type changed counts as 1 (entirely
/// wrong). The model's error is the largest over its outputs: every output must stay close.
struct OutputDifference {
  private var squaredDifference: [String: Double] = [:]
  private var squaredReference: [String: Double] = [:]
  private var mismatched: [String: Int] = [:]
  private var elements: [String: Int] = [:]
  private var broken: Set<String> = []

  /// Adds one run.
  mutating func add(reference: [String: TensorValue], candidate: [String: TensorValue]) {
    for (name, y) in reference {
      guard let z = candidate[name], z.shape == y.shape else { broken.insert(name); continue }
      switch (y.storage, z.storage) {
      case (.floats(let a), .floats(let b)):
        var d = 0.0, r = 0.0
        for i in a.indices {
          let (x, e) = (Double(a[i]), Double(b[i]) - Double(a[i]))
          d += e * e
          r += x * x
        }
        squaredDifference[name, default: 0] += d
        squaredReference[name, default: 0] += r
      case (.integers(let a), .integers(let b)):
        mismatched[name, default: 0] += zip(a, b).filter { $0 != $1 }.count
        elements[name, default: 0] += a.count
      case (.bools(let a), .bools(let b)):
        mismatched[name, default: 0] += zip(a, b).filter { $0 != $1 }.count
        elements[name, default: 0] += a.count
      default:
        broken.insert(name)
      }
    }
  }

  /// The error of each output.
  var perOutput: [String: Double] {
    var result: [String: Double] = [:]
    for (name, d) in squaredDifference {
      let r = squaredReference[name] ?? 0
      result[name] = r > 0 ? (d / r).squareRoot() : d.squareRoot()
    }
    for (name, m) in mismatched {
      let n = elements[name] ?? 0
      result[name] = n > 0 ? Double(m) / Double(n) : 0
    }
    for name in broken { result[name] = 1 }
    // NaN (an overflow in the candidate) is the worst error, not a comparison that fails.
    return result.mapValues { $0.isNaN ? .infinity : $0 }
  }

  /// The largest error over the outputs.
  var error: Double { perOutput.values.max() ?? 0 }
}
