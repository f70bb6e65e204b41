import ONNX

/// Reads one node's attributes and constant inputs while its op is built, once per compile.
///
/// Every attribute read is recorded; the plan rejects a node that carries an attribute its op
/// never read, so an attribute the executor does not know can never be silently ignored.
final class OpBuilder {
  let node: Node
  /// The node's handle in `graph` (attribute kinds `Node` does not carry are read through it).
  let id: NodeID
  let graph: Graph
  /// The model's default-domain opset.
  let opset: Int
  private(set) var read: Set<String> = []

  init(node: Node, id: NodeID, graph: Graph, opset: Int) {
    self.node = node
    self.id = id
    self.graph = graph
    self.opset = opset
  }

  var name: String { node.name.isEmpty ? (node.outputs.first ?? "?") : node.name }

  /// Attributes present on the node that no read asked for.
  var unreadAttributes: [String] { node.attributes.map(\.name).filter { !read.contains($0) } }

  func unsupported(_ detail: String) -> ExecutorError {
    .unsupported(node: name, op: node.opType, detail: detail)
  }

  func invalid(_ detail: String) -> ExecutorError {
    .invalidNode(node: name, op: node.opType, detail: detail)
  }

  private func value(_ attribute: String) -> AttributeValue? {
    read.insert(attribute)
    return node.attribute(attribute)
  }

  func has(_ attribute: String) -> Bool { node.attribute(attribute) != nil }

  func int(_ attribute: String, default d: Int) throws -> Int {
    switch value(attribute) {
    case nil: return d
    case .int(let v)?: return v
    default: throw invalid("attribute '\(attribute)' must be an INT")
    }
  }

  func ints(_ attribute: String) throws -> [Int]? {
    switch value(attribute) {
    case nil: return nil
    case .ints(let v)?: return v
    default: throw invalid("attribute '\(attribute)' must be INTS")
    }
  }

  func float(_ attribute: String, default d: Float) throws -> Float {
    switch value(attribute) {
    case nil: return d
    case .float(let v)?: return v
    default: throw invalid("attribute '\(attribute)' must be a FLOAT")
    }
  }

  func floats(_ attribute: String) throws -> [Float]? {
    switch value(attribute) {
    case nil: return nil
    case .floats(let v)?: return v
    default: throw invalid("attribute '\(attribute)' must be FLOATS")
    }
  }

  func string(_ attribute: String, default d: String) throws -> String {
    switch value(attribute) {
    case nil: return d
    case .string(let v)?: return v
    default: throw invalid("attribute '\(attribute)' must be a STRING")
    }
  }

  /// A STRINGS attribute.
  func strings(_ attribute: String) -> [String]? {
    read.insert(attribute)
    return graph.stringsAttribute(attribute, of: id)
  }

  /// A TENSOR attribute, decoded.
  func tensor(_ attribute: String) throws -> TensorValue? {
    read.insert(attribute)
    guard node.attribute(attribute) != nil else { return nil }
    guard let data = try graph.tensorAttribute(attribute, of: id) else {
      throw unsupported("attribute '\(attribute)' of a non-tensor or sparse kind")
    }
    return TensorValue(data)
  }

  /// A string attribute restricted to `allowed` values.
  func choice(_ attribute: String, default d: String, allowed: [String]) throws -> String {
    let v = try string(attribute, default: d)
    guard allowed.contains(v) else { throw unsupported("\(attribute)='\(v)'") }
    return v
  }

  /// Whether input `i` is present (named and not omitted).
  func hasInput(_ i: Int) -> Bool { i < node.inputs.count && !node.inputs[i].isEmpty }

  /// The value of input `i` when it is an initializer (nil when computed at run time or absent).
  func constantInput(_ i: Int) throws -> TensorValue? {
    guard hasInput(i), graph.producer(of: node.inputs[i]) == nil,
      let c = try graph.constant(node.inputs[i])
    else { return nil }
    return TensorValue(try c.data())
  }

  /// Rejects an opset older than `minimum` for this op.
  func requireOpset(atLeast minimum: Int) throws {
    if opset < minimum { throw unsupported("opset \(opset) (this op needs \(minimum) or later)") }
  }
}
