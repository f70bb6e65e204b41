/// The decoded contents of one ONNX tensor, with no protobuf type in sight.
///
/// Values are widened to three storage kinds so a runtime needs only three kernels per op:
/// floating-point types as `Float` (DOUBLE rounded to nearest, FLOAT16/BFLOAT16 exact),
/// integer types as `Int64` (UINT64 above `Int64.max` wraps, as a bit pattern), BOOL as `Bool`.
/// `elementType` keeps the declared type.
public struct TensorData: Sendable, Equatable {
  /// Row-major values in one of the three storage kinds.
  public enum Values: Sendable, Equatable {
    case floats([Float])
    case integers([Int64])
    case bools([Bool])

    /// The number of values.
    public var count: Int {
      switch self {
      case .floats(let v): v.count
      case .integers(let v): v.count
      case .bools(let v): v.count
      }
    }
  }

  /// The tensor's name in the file ("" when unnamed).
  public let name: String
  /// The declared element type.
  public let elementType: TensorElementType
  /// The dims (empty for a scalar).
  public let shape: [Int]
  /// The values; `values.count` is the product of `shape`.
  public let values: Values

  /// A decoded tensor.
  /// - Precondition: `values.count` equals the product of `shape`.
  public init(name: String, elementType: TensorElementType, shape: [Int], values: Values) {
    precondition(values.count == shape.reduce(1, *), "TensorData: \(values.count) values for shape \(shape)")
    self.name = name
    self.elementType = elementType
    self.shape = shape
    self.values = values
  }
}
