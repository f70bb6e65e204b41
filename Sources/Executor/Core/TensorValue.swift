import ONNX

/// A tensor flowing through the executor: declared element type, shape, row-major values.
///
/// Storage has three kinds (see `TensorData`): every floating type computes in `Float`
/// (FLOAT16/DOUBLE inputs are cast on entry), every integer type in `Int64`, BOOL in `Bool`.
/// Arrays are copy-on-write, so passing a value along (Identity, Reshape) costs nothing.
public struct TensorValue: Sendable, Equatable {
  public typealias Storage = TensorData.Values

  /// The ONNX element type this value has in the graph.
  public var elementType: TensorElementType
  /// The size of each axis (empty for a scalar).
  public var shape: [Int]
  /// The values in row-major order.
  public var storage: Storage

  /// A value from its parts.
  /// - Precondition: `storage.count` equals the product of `shape`.
  public init(elementType: TensorElementType, shape: [Int], storage: Storage) {
    precondition(storage.count == shape.reduce(1, *), "TensorValue: \(storage.count) values for shape \(shape)")
    self.elementType = elementType
    self.shape = shape
    self.storage = storage
  }

  /// A FLOAT tensor.
  public init(shape: [Int], floats: [Float]) {
    self.init(elementType: .float, shape: shape, storage: .floats(floats))
  }

  /// An INT64 tensor.
  public init(shape: [Int], integers: [Int64]) {
    self.init(elementType: .int64, shape: shape, storage: .integers(integers))
  }

  /// A BOOL tensor.
  public init(shape: [Int], bools: [Bool]) {
    self.init(elementType: .bool, shape: shape, storage: .bools(bools))
  }

  /// A decoded ONNX tensor (test data, initializers, attribute tensors).
  public init(_ data: TensorData) {
    self.init(elementType: data.elementType, shape: data.shape, storage: data.values)
  }

  /// The number of elements.
  public var count: Int { storage.count }

  /// The float values, or nil when the storage is not floating point.
  public var floats: [Float]? { if case .floats(let v) = storage { v } else { nil } }

  /// The integer values, or nil when the storage is not integer.
  public var integers: [Int64]? { if case .integers(let v) = storage { v } else { nil } }

  /// The boolean values, or nil when the storage is not BOOL.
  public var bools: [Bool]? { if case .bools(let v) = storage { v } else { nil } }

  /// The same values under another shape with the same element count.
  func reshaped(_ newShape: [Int]) -> TensorValue {
    TensorValue(elementType: elementType, shape: newShape, storage: storage)
  }

  /// A value of the same element type with new storage.
  func with(shape newShape: [Int], storage newStorage: Storage) -> TensorValue {
    TensorValue(elementType: elementType, shape: newShape, storage: newStorage)
  }
}
