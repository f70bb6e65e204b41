/// A declared value: a graph input, output or `value_info` entry, with its element type and
/// shape when the file gives them. Symbolic dims are kept by name.
public struct ValueInfo: Equatable, Sendable {
  /// One dimension of a declared shape.
  public enum Dimension: Equatable, Sendable, CustomStringConvertible {
    case fixed(Int)
    /// A named dynamic dimension (`dim_param`), e.g. "N".
    case symbolic(String)
    /// A dimension the file leaves blank.
    case unknown

    public var description: String {
      switch self {
      case .fixed(let n): "\(n)"
      case .symbolic(let s): s
      case .unknown: "?"
      }
    }
  }

  public var name: String
  /// Nil when the value is not a tensor or its element type is absent or unknown.
  public var dataType: TensorElementType?
  /// Nil when the file declares no shape (any rank).
  public var shape: [Dimension]?

  public init(name: String, dataType: TensorElementType?, shape: [Dimension]?) {
    self.name = name
    self.dataType = dataType
    self.shape = shape
  }
}
