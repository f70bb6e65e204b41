import Foundation

/// Failures of a rewrite that stop it as a whole (a site that cannot be rewritten is kept and
/// reported instead).
public enum RewriteError: Error, CustomStringConvertible, Equatable {
  /// A Conv's weight is a graph input, supplied at run time (a model exported without its
  /// parameters); exclude the node to rewrite the rest.
  case weightIsGraphInput(node: String, weight: String)
  /// The model's default-domain opset is missing or outside the versions the rewriter knows.
  case unsupportedOpset(version: Int?, supported: ClosedRange<Int>)

  /// A node contradicts the ONNX spec in a way the rewriter reads (group, dims, spatial
  /// attributes, outputs).
  case malformedNode(node: String, why: String)

  /// A format was handed factors of another format's type: a bug in the planner, reported
  /// instead of emitting an empty chain.
  case factorsMismatch(format: String, factors: String)

  /// `--ratio` asks for less (of the objective's cost) than every site at its smallest rank costs.
  case budgetTooSmall(ratio: Double, minimum: Double, of: Objective)

  /// Under an output bound, even the model with every site kept whole moves the outputs by more
  /// (what is left is the weight storage `--weights` chose).
  case outputBoundNotMet(measured: Double, bound: Double)

  /// The original model fails to run on inputs whose shapes the file or the user fixed
  /// (`inputs` says which): a node meets a shape or type the spec forbids (`why` names it), so
  /// the model is not valid ONNX and no runtime can run it either.
  case modelDoesNotRun(inputs: String, why: String)

  /// The input read again for the output check's back-off is not the model read at the start
  /// (the file changed during the run; `OriginalModel`).
  case inputChanged

  public var description: String {
    switch self {
    case .outputBoundNotMet(let measured, let bound):
      "the outputs move by \(measured) (relative, measured) with every site kept whole, above the bound \(bound): the weight storage alone exceeds it; loosen --target-error or store weights as fp32/fp16."
    case .modelDoesNotRun(let inputs, let why):
      "the model does not run on \(inputs): \(why.hasSuffix(".") ? String(why.dropLast()) : why); it is not a valid model (pass --no-check to rewrite it without running it)."
    case .inputChanged:
      "the input model changed on disk while it was being rewritten (it is read again to back off ranks); run again once it stays unchanged."
    case .weightIsGraphInput(let node, let weight):
      "node '\(node)': weight '\(weight)' is a graph input, not a constant; export the model with its weights, or pass --exclude '\(node)'."
    case .unsupportedOpset(let version?, let supported):
      "the model imports default-domain opset \(version); onnx-rstd supports opsets \(supported.lowerBound) to \(supported.upperBound)."
    case .malformedNode(let node, let why):
      "node '\(node)': \(why)."
    case .factorsMismatch(let format, let factors):
      "internal error: \(format) was given factors of type \(factors); please report this."
    case .budgetTooSmall(let ratio, let minimum, let objective):
      "--ratio \(ratio) is below what the eligible sites cost at rank 1 (ratio \(String(format: "%.4f", minimum)) of their \(objective.costName)); ask for at least that, or --exclude sites."
    case .unsupportedOpset(nil, let supported):
      "the model imports no default-domain opset; onnx-rstd supports opsets \(supported.lowerBound) to \(supported.upperBound)."
    }
  }
}
