import ONNX

/// What the report and `inspect` say about the weight of a node that is not rewritten: its name,
/// the constant behind it if any, its dims and its size (0 when unknown or absurd).
struct NodeWeight {
  let name: String?
  let constant: ConstantValue?
  let shape: [Int]
  let parameterCount: Int

  init(_ node: Node, graph: Graph) {
    name = node.inputs.count > 1 ? node.inputs[1] : nil
    constant = name.flatMap { try? graph.constant($0) }
    let count = constant?.elementCount
    shape = count == nil ? [] : constant?.shape ?? []
    parameterCount = shape.isEmpty ? 0 : count ?? 0
  }
}
