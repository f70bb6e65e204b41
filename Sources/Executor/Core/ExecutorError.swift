/// Everything that stops a model from compiling or running in the executor.
///
/// Compile-time cases name the node (or the value) and the op; each `description` is one
/// sentence.
public enum ExecutorError: Error, CustomStringConvertible, Equatable {
  /// Node `node` uses op `op` of domain `domain`, which the executor does not implement.
  case unsupportedOp(node: String, op: String, domain: String)
  /// Node `node` (op `op`) needs something the executor does not implement: `detail`
  /// (an attribute value, an opset, a data type, an omitted input).
  case unsupported(node: String, op: String, detail: String)
  /// Node `node` (op `op`) has an invalid attribute or input: `detail`.
  case invalidNode(node: String, op: String, detail: String)
  /// The model imports default-domain opset `version`, outside `supported`.
  case unsupportedOpset(version: Int, supported: ClosedRange<Int>)
  /// Node `node` reads `value`, which no graph input, initializer or earlier node provides.
  case undefinedValue(node: String, value: String)
  /// The graph's nodes form a cycle through node `node`.
  case cycle(node: String)
  /// The graph output `value` is produced by nothing.
  case undefinedOutput(value: String)
  /// The graph input `name` was not given to `run`.
  case missingInput(name: String)
  /// `run` was given `name`, which is not a graph input.
  case unknownInput(name: String)
  /// Asked to observe `name`, which a run never holds (unknown, or folded into a constant that
  /// no node reads).
  case unknownObservedValue(name: String)
  /// Node `node` (op `op`) failed while running, or while folding its constant inputs at
  /// compile time: `detail` (a shape or type mismatch the spec forbids: the model's fault, not a
  /// limit of the executor's, which is `unsupported`).
  case runtime(node: String, op: String, detail: String)
  /// `Executor.resume(at:values:)` cannot run from that position on the values given: `detail`
  /// (a value read there that is not given, or a given value a step would compute again).
  case cannotResume(detail: String)
  /// `Executor.run(_:replacing:)` cannot replace the constant `name`: `detail` (not a constant
  /// only weights read as the plan runs, or a value of another shape or type).
  case cannotReplace(name: String, detail: String)

  public var description: String {
    switch self {
    case .unsupportedOp(let node, let op, let domain):
      let d = domain.isEmpty ? "" : " of domain '\(domain)'"
      return "node '\(node)': op \(op)\(d) is not supported by the executor."
    case .unsupported(let node, let op, let detail):
      return "node '\(node)' (\(op)): \(detail) is not supported by the executor."
    case .invalidNode(let node, let op, let detail):
      return "node '\(node)' (\(op)): \(detail)."
    case .unsupportedOpset(let version, let supported):
      return "the model imports ONNX opset \(version); the executor supports opsets \(supported.lowerBound)-\(supported.upperBound)."
    case .undefinedValue(let node, let value):
      return "node '\(node)' reads '\(value)', which no input, initializer or earlier node produces."
    case .cycle(let node):
      return "the graph has a cycle through node '\(node)'."
    case .undefinedOutput(let value):
      return "graph output '\(value)' is produced by no node, input or initializer."
    case .missingInput(let name):
      return "graph input '\(name)' was not given."
    case .unknownInput(let name):
      return "'\(name)' is not an input of the graph."
    case .unknownObservedValue(let name):
      return "cannot observe '\(name)': no value of that name exists when the model runs."
    case .runtime(let node, let op, let detail):
      return "node '\(node)' (\(op)): \(detail)."
    case .cannotResume(let detail):
      return "cannot resume the run: \(detail)."
    case .cannotReplace(let name, let detail):
      return "cannot replace the constant '\(name)': \(detail)."
    }
  }
}
