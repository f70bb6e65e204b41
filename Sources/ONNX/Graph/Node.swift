/// A graph node seen from outside the ONNX module: op, domain, wiring and attributes.
///
/// Reading a graph gives `Node` values; inserting builds new protobuf nodes from them, with
/// attributes sorted by name so the written bytes do not depend on construction order.
public struct Node: Equatable, Sendable {
  public var name: String
  public var opType: String
  /// The operator domain; "" (and "ai.onnx") is the default ONNX domain.
  public var domain: String
  public var inputs: [String]
  public var outputs: [String]
  public var attributes: [Attribute]

  public init(
    name: String, opType: String, domain: String = "", inputs: [String], outputs: [String],
    attributes: [Attribute] = []
  ) {
    self.name = name
    self.opType = opType
    self.domain = domain
    self.inputs = inputs
    self.outputs = outputs
    self.attributes = attributes
  }

  /// Whether the node belongs to the default ONNX operator set.
  public var isDefaultDomain: Bool { domain.isEmpty || domain == "ai.onnx" }

  /// The attribute called `name`, if present.
  public func attribute(_ name: String) -> AttributeValue? {
    attributes.first { $0.name == name }?.value
  }

  /// An INT attribute, or `defaultValue` when absent.
  public func int(_ name: String, default defaultValue: Int) -> Int {
    if case .int(let v)? = attribute(name) { return v }
    return defaultValue
  }

  /// An INTS attribute, or nil when absent.
  public func ints(_ name: String) -> [Int]? {
    if case .ints(let v)? = attribute(name) { return v }
    return nil
  }

  /// A STRING attribute, or nil when absent.
  public func string(_ name: String) -> String? {
    if case .string(let v)? = attribute(name) { return v }
    return nil
  }

  /// A FLOAT attribute, or `defaultValue` when absent.
  public func float(_ name: String, default defaultValue: Float) -> Float {
    if case .float(let v)? = attribute(name) { return v }
    return defaultValue
  }
}
