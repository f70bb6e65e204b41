/// A graph that is not a valid ONNX graph, found before any rewrite touches it.
public enum GraphError: Error, Equatable, CustomStringConvertible {
  /// Two definitions of one value (two nodes, or a node and an initializer or graph input).
  case valueDefinedTwice(value: String, node: String)
  /// A node reads a value that nothing in the graph defines.
  case undefinedInput(node: String, value: String)
  /// A graph output that nothing defines.
  case undefinedOutput(value: String)
  /// A graph output listed more than once.
  case duplicateOutput(value: String)
  /// The nodes depend on each other in a cycle.
  case cycle(node: String)
  /// The model's IR version is outside what the ONNX standard defines.
  case irVersion(Int, newest: Int)
  /// A graph input, output or value_info entry without a name or a type.
  case incompleteValueInfo(kind: String, name: String)
  /// The main graph has no name.
  case unnamedGraph
  /// An initializer has no name.
  case unnamedInitializer
  /// Two graph inputs share a name.
  case graphInputListedTwice(value: String)
  /// Two initializers share a name.
  case initializerListedTwice(value: String)
  /// A graph input or output declared a tensor (or a sequence, optional or map of them) without
  /// an element type.
  case noElementType(kind: String, name: String)
  /// A default-domain node whose op the ONNX standard does not define.
  case unknownOp(node: String, op: String, opset: Int)
  /// A default-domain op used at an opset older than the one that introduced it.
  case opTooNew(node: String, op: String, since: Int, opset: Int)
  /// A node breaks its op's attribute rules (names, kinds, ranges, agreeing lengths).
  case invalidNode(node: String, op: String, why: String)
  /// A node of an op the tool reads has an input or output count the op does not allow.
  case arity(node: String, op: String, what: String, count: Int, allowed: ClosedRange<Int>)
  /// Below IR version 4 every initializer must also be a graph input.
  case initializerNotInput(value: String, irVersion: Int)
  /// A graph input, output or value_info entry contradicts the initializer of the same name.
  case declarationContradicts(value: String, kind: String, why: String)

  public var description: String {
    switch self {
    case .valueDefinedTwice(let v, let n): "node '\(n)': value '\(v)' is defined more than once; ONNX values are assigned once."
    case .undefinedInput(let n, let v): "node '\(n)' reads '\(v)', which no node, initializer or graph input defines."
    case .undefinedOutput(let v): "graph output '\(v)' is not defined by any node, initializer or graph input."
    case .duplicateOutput(let v): "graph output '\(v)' is listed more than once."
    case .cycle(let n): "node '\(n)' is on a cycle: the graph has no topological order."
    case .irVersion(let v, let newest): "the model's IR version is \(v); ONNX defines 1 to \(newest)."
    case .incompleteValueInfo(let kind, let name): "\(kind) '\(name)' has no name or no type; ONNX requires both."
    case .unnamedGraph: "the main graph has no name; ONNX requires one."
    case .unnamedInitializer: "an initializer has no name; ONNX requires one."
    case .graphInputListedTwice(let v): "graph input '\(v)' is listed twice; ONNX values are defined once."
    case .initializerListedTwice(let v): "initializer '\(v)' is listed twice; ONNX names each once."
    case .noElementType(let kind, let name): "\(kind) '\(name)' declares no element type; ONNX requires one."
    case .unknownOp(let n, let op, let opset): "node '\(n)': '\(op)' is not an ONNX operator (default domain, opset \(opset))."
    case .opTooNew(let n, let op, let since, let opset): "node '\(n)': \(op) exists from opset \(since); the model imports opset \(opset)."
    case .invalidNode(let n, let op, let why): "node '\(n)' (\(op)): \(why)."
    case .initializerNotInput(let v, let ir): "initializer '\(v)' is not a graph input; IR version \(ir) (below 4) requires every initializer to be one."
    case .declarationContradicts(let v, let kind, let why): "\(kind) '\(v)' contradicts its initializer: it \(why)."
    case .arity(let n, let op, let what, let count, let allowed):
      "node '\(n)' (\(op)) has \(count) \(what); \(op) takes \(allowed.lowerBound == allowed.upperBound ? "\(allowed.lowerBound)" : "\(allowed.lowerBound) to \(allowed.upperBound)")."
    }
  }
}
