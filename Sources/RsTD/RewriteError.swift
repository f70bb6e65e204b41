/// Failures of a rewrite that stop it as a whole (a site that cannot be rewritten is kept and
/// reported instead).
public enum RewriteError: Error, CustomStringConvertible, Equatable {
  /// A Conv's weight is a graph input, supplied at run time (a model exported without its
  /// parameters); exclude the node to rewrite the rest.
  case weightIsGraphInput(node: String, weight: String)
  /// The model's default-domain opset is missing or outside the versions the rewriter knows.
  case unsupportedOpset(version: Int?, supported: ClosedRange<Int>)

  public var description: String {
    switch self {
    case .weightIsGraphInput(let node, let weight):
      "node '\(node)': weight '\(weight)' is a graph input, not a constant; export the model with its weights, or pass --exclude '\(node)'."
    case .unsupportedOpset(let version?, let supported):
      "the model imports default-domain opset \(version); onnx-rstd supports opsets \(supported.lowerBound) to \(supported.upperBound)."
    case .unsupportedOpset(nil, let supported):
      "the model imports no default-domain opset; onnx-rstd supports opsets \(supported.lowerBound) to \(supported.upperBound)."
    }
  }
}
