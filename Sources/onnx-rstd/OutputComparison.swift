import Executor

/// How far one output of a rewritten model is from the original's, over every input set:
/// relative L2 error ‖rewritten − original‖₂ / ‖original‖₂ over all sets together (the absolute
/// norm when the original is all zeros, as Scripts/verify does) and the largest absolute difference.
struct OutputComparison: Encodable {
  let name: String
  private var sumSquaresOriginal = 0.0
  private var sumSquaresDifference = 0.0
  private(set) var maxAbs = 0.0
  /// Why the output cannot be compared (missing, another shape or type, non-finite values); nil when it can.
  private(set) var problem: String?

  init(name: String) { self.name = name }

  /// Adds one input set's pair of values (`rewritten` nil when that model lacks the output).
  mutating func add(original: TensorValue, rewritten: TensorValue?) {
    guard problem == nil else { return }
    guard let rewritten else { problem = "missing from the rewritten model"; return }
    guard original.shape == rewritten.shape else {
      problem = "shape \(rewritten.shape) in the rewritten model, \(original.shape) in the original"
      return
    }
    guard Self.kind(original) == Self.kind(rewritten) else {
      problem = "\(Self.kind(rewritten)) in the rewritten model, \(Self.kind(original)) in the original"
      return
    }
    let a = Self.doubles(original), b = Self.doubles(rewritten)
    for (x, y) in zip(a, b) {
      guard x.isFinite, y.isFinite else {
        problem = x.isFinite ? "non-finite values in the rewritten model" : "non-finite values in the original model"
        return
      }
      let d = y - x
      sumSquaresOriginal += x * x
      sumSquaresDifference += d * d
      maxAbs = max(maxAbs, abs(d))
    }
  }

  /// The relative L2 error (nil when there is a problem).
  var relativeError: Double? {
    guard problem == nil else { return nil }
    let difference = sumSquaresDifference.squareRoot()
    return sumSquaresOriginal > 0 ? difference / sumSquaresOriginal.squareRoot() : difference
  }

  /// Within `bound` and comparable.
  func passes(_ bound: Double) -> Bool { (relativeError.map { $0 <= bound }) ?? false }

  /// The storage kind, as `--outputs` writes it.
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

  enum CodingKeys: String, CodingKey { case name, relativeError = "rel_l2", maxAbs = "max_abs", problem }

  func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(name, forKey: .name)
    try c.encode(relativeError, forKey: .relativeError)
    try c.encode(problem == nil ? maxAbs : nil, forKey: .maxAbs)
    try c.encode(problem, forKey: .problem)
  }
}
