internal import ONNXProto

/// A value whose contents are known before inference: an initializer, the output of a
/// `Constant` node, or the output of a `ConstantOfShape` node whose shape is itself constant.
public struct ConstantValue: Sendable {
  /// Where the value comes from; the report quotes it.
  public enum Source: Equatable, Sendable, CustomStringConvertible {
    case initializer
    /// An initializer also listed as a graph input (IR < 4), which callers may override.
    case initializerAndGraphInput
    /// Named by the node, or by its output when the node is unnamed.
    case constantNode(String)
    /// Folded at load: a constant-shape `ConstantOfShape`, named like `constantNode`.
    case constantOfShape(String)

    public var description: String {
      switch self {
      case .initializer: "initializer"
      case .initializerAndGraphInput: "initializer (also a graph input)"
      case .constantNode(let n): "Constant node '\(n)'"
      case .constantOfShape(let n): "ConstantOfShape node '\(n)'"
      }
    }
  }

  public let name: String
  public let source: Source
  let tensor: Onnx_TensorProto
  /// The values `tensor`'s `raw_data` is a view of (`SharedFloats`), handed out without a copy.
  let shared: [Float]?

  init(name: String, source: Source, tensor: Onnx_TensorProto, shared: [Float]? = nil) {
    self.name = name
    self.source = source
    self.tensor = tensor
    self.shared = shared
  }

  /// Whether `floats()` and `data()` hand out the graph's own values (a FLOAT initializer,
  /// `SharedFloats`) rather than a decoded copy.
  public var sharesGraphStorage: Bool { shared != nil }

  /// Dimensions of the value.
  public var shape: [Int] { tensor.shape }

  /// The number of elements, nil when a dim is negative or their product overflows.
  public var elementCount: Int? { try? tensor.checkedElementCount() }

  /// The floating-point type, or nil when the value is not FLOAT/FLOAT16/BFLOAT16/DOUBLE.
  public var elementType: ElementType? { ElementType(tensor.dataType) }

  /// The ONNX name of the element type, e.g. "FLOAT16".
  public var elementTypeName: String { dataTypeName(tensor.dataType) }

  /// The values as Float, whatever the stored floating-point type.
  /// - Throws: `ONNXError` when the stored bytes do not match the dims or the type is not float.
  public func floats() throws -> [Float] {
    if let shared { return shared }
    return try tensor.floatValues()
  }

  /// The values as Int64 (INT64 or INT32 tensors).
  public func int64s() throws -> [Int64] { try tensor.int64Values() }
}
