import ONNX
import ONNXProto
import SwiftProtobuf

/// What a test needs to see of a model beyond `Graph`'s public view, as plain Swift values:
/// initializer names, graph inputs and outputs, `value_info` names and the opsets.
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

  /// Reads `model`'s serialized bytes.
  /// - Throws: if the bytes do not parse (they always should).
  public init(_ model: Model) throws {
    let m = try Onnx_ModelProto(serializedBytes: try model.serializedData())
    initializers = m.graph.initializer.map(\.name)
    inputs = m.graph.input.map(\.name)
    outputs = m.graph.output.map { v in
      let dims = v.type.tensorType.shape.dim.map { d -> String in
        if case .dimValue(let x)? = d.value { return String(x) }
        if case .dimParam(let p)? = d.value { return p }
        return "?"
      }
      return "\(v.name): \(v.type.tensorType.elemType) [\(dims.joined(separator: ","))]"
    }
    valueInfo = m.graph.valueInfo.map(\.name)
    nodeNames = m.graph.node.map(\.name)
    opsets = Dictionary(m.opsetImport.map { ($0.domain, Int($0.version)) }, uniquingKeysWith: { a, _ in a })
    metadata = Dictionary(m.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
  }
}
