import ONNX

/// What a test needs to see of a model as plain values, read through the public model API:
/// initializer names, graph inputs and outputs, `value_info` names, node names, opsets, metadata.
public struct ModelContents: Equatable {
  /// Initializer names in file order.
  public var initializers: [String]
  /// Graph input names in file order (initializers listed as inputs included).
  public var inputs: [String]
  /// Each graph output as "name: elem_type [dims]" (symbolic dims by their name).
  public var outputs: [String]
  /// `value_info` names in file order.
  public var valueInfo: [String]
  /// Node names in file order.
  public var nodeNames: [String]
  /// Imported opsets by domain ("" is the default domain).
  public var opsets: [String: Int]
  /// `metadata_props` as key → value.
  public var metadata: [String: String]

  /// Reads `model` as it stands.
  public init(_ model: Model) throws {
    let g = model.graph
    initializers = g.initializerNames
    inputs = g.inputs.map(\.name)
    outputs = g.outputs.map { v in
      let dims = (v.shape ?? []).map(\.description)
      return "\(v.name): \(v.dataType?.rawValue ?? 0) [\(dims.joined(separator: ","))]"
    }
    valueInfo = g.valueInfo.map(\.name)
    nodeNames = g.nodes.map(\.name)
    opsets = model.opsets
    metadata = model.metadataProps
  }
}
