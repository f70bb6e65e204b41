/// A node attribute as the rewriter sees it: the kinds a Conv chain needs, plus `other` for
/// everything it only carries through unchanged.
public enum AttributeValue: Equatable, Sendable {
  case int(Int)
  case ints([Int])
  case float(Float)
  case floats([Float])
  case string(String)
  /// A kind the rewriter never builds (tensor, graph, type proto, ...). Reading such an
  /// attribute is allowed; it cannot be written through this type.
  case other
}

/// A named attribute.
public struct Attribute: Equatable, Sendable {
  public var name: String
  public var value: AttributeValue

  public init(_ name: String, _ value: AttributeValue) {
    self.name = name
    self.value = value
  }
}
