import Executor

/// How far one output of a candidate model is from the reference's, accumulated over runs on the
/// same inputs. Shared by the rewriter's output check (`OutputDifference`) and `onnx-rstd verify`,
/// so both measure the same way.
///
/// Kept per output: the squared norms of the reference and of the difference (every kind, values
/// as doubles), the largest absolute difference, the count of differing elements, and the first
/// problem that makes the output incomparable (missing, another shape or kind, a non-finite
/// value); after a problem further runs are ignored.
public struct OutputDeviation: Sendable {
  public let name: String
  private var squaredReference = 0.0
  private var squaredDifference = 0.0
  private var mismatched = 0
  private var elements = 0
  private var isFloat = true
  /// The largest absolute difference.
  public private(set) var maxAbs = 0.0
  /// Why the output cannot be compared; nil when it can.
  public private(set) var problem: String?
  /// Whether `problem` is a non-finite value (an overflow: the worst error) rather than a
  /// missing or changed output.
  private var nonFinite = false

  public init(name: String) { self.name = name }

  /// Adds one run's pair of values (`candidate` nil when that model lacks the output).
  public mutating func add(reference: TensorValue, candidate: TensorValue?) {
    guard problem == nil else { return }
    guard let candidate else { problem = "missing from the rewritten model"; return }
    guard reference.shape == candidate.shape else {
      problem = "shape \(candidate.shape) in the rewritten model, \(reference.shape) in the original"
      return
    }
    guard Self.kind(reference) == Self.kind(candidate) else {
      problem = "\(Self.kind(candidate)) in the rewritten model, \(Self.kind(reference)) in the original"
      return
    }
    if case .floats = reference.storage {} else { isFloat = false }
    let a = Self.doubles(reference), b = Self.doubles(candidate)
    // Sums per run, then added: the totals do not depend on how runs are batched.
    var d = 0.0, r = 0.0, m = 0, worst = maxAbs
    for (x, y) in zip(a, b) {
      guard x.isFinite, y.isFinite else {
        problem = x.isFinite ? "non-finite values in the rewritten model" : "non-finite values in the original model"
        nonFinite = true
        return
      }
      let e = y - x
      d += e * e
      r += x * x
      if e != 0 { m += 1 }
      worst = max(worst, abs(e))
    }
    squaredDifference += d
    squaredReference += r
    mismatched += m
    elements += a.count
    maxAbs = worst
  }

  /// The relative L2 error ‖candidate − reference‖₂ / ‖reference‖₂ over all runs together (the
  /// absolute norm when the reference is all zeros); nil when there is a problem.
  public var relativeL2: Double? {
    guard problem == nil else { return nil }
    let difference = squaredDifference.squareRoot()
    return squaredReference > 0 ? difference / squaredReference.squareRoot() : difference
  }

  /// The output check's error: relative L2 for a float output, the fraction of differing
  /// elements for an integer or boolean one (labels, indices, masks); 1 (entirely wrong) for a
  /// missing or changed output, infinity for a non-finite value.
  public var error: Double {
    if nonFinite { return .infinity }
    guard let l2 = relativeL2 else { return 1 }
    if isFloat { return l2.isNaN ? .infinity : l2 }
    return elements > 0 ? Double(mismatched) / Double(elements) : 0
  }

  /// The storage kind, as `onnx-rstd run --outputs` writes it.
  private static func kind(_ v: TensorValue) -> String {
    switch v.storage {
    case .floats: return "float32"
    case .integers: return "int64"
    case .bools: return "bool"
    }
  }

  private static func doubles(_ v: TensorValue) -> [Double] {
    switch v.storage {
    case .floats(let f): return f.map(Double.init)
    case .integers(let i): return i.map(Double.init)
    case .bools(let b): return b.map { $0 ? 1 : 0 }
    }
  }
}
