/// Failures of a rewrite that stop it as a whole (a site that cannot be rewritten is kept and
/// reported instead).
public enum RewriteError: Error, CustomStringConvertible, Equatable {
  /// A site's weight must be constant but is computed at run time, and the user asked for it.
  case weightNotConstant(node: String, weight: String)
  /// The model imports no default-domain opset the rewriter can emit for.
  case unsupportedOpset(version: Int, minimum: Int)
  /// The model has no nodes the rewriter can look at.
  case emptyGraph

  public var description: String {
    switch self {
    case .weightNotConstant(let node, let weight):
      "node '\(node)': weight '\(weight)' is computed at run time, so it cannot be decomposed ahead of time."
    case .unsupportedOpset(let version, let minimum):
      "the model imports default-domain opset \(version); onnx-rstd needs at least opset \(minimum)."
    case .emptyGraph:
      "the model's graph has no nodes."
    }
  }
}
