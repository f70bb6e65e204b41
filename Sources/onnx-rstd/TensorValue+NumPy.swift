import Executor
import NumPyIO
import ONNX

/// Conversions between the executor's tensors and .npy arrays (the CLI's edge: NumPyIO knows
/// nothing of ONNX, the executor nothing of files).
extension TensorValue {
  /// The .npy dtype that holds values of ONNX type `type` without loss, or nil.
  static func npyType(of type: TensorElementType) -> NPYDType? {
    switch type {
    case .float: return .float32
    case .float16: return .float16
    case .double: return .float64
    case .int64: return .int64
    case .int32: return .int32
    case .int8: return .int8
    case .uint8: return .uint8
    case .bool: return .bool
    default: return nil
    }
  }

  /// `array` as a value of ONNX type `type`.
  /// - Precondition: `array.dtype == TensorValue.npyType(of: type)`.
  init(_ array: NPYArray, as type: TensorElementType) {
    if let floats = array.floatValues() {
      self.init(elementType: type, shape: array.shape, storage: .floats(floats))
    } else if let integers = array.integerValues() {
      self.init(elementType: type, shape: array.shape, storage: .integers(integers))
    } else {
      self.init(elementType: type, shape: array.shape, storage: .bools(array.boolValues() ?? []))
    }
  }

  /// The value as a .npy array: float32, int64 or bool (the executor computes every floating
  /// type in float32 and every integer type in int64).
  var npyArray: NPYArray {
    switch storage {
    case .floats(let v): return NPYArray(shape: shape, floats: v)
    case .integers(let v): return NPYArray(shape: shape, int64s: v)
    case .bools(let v): return NPYArray(shape: shape, bools: v)
    }
  }
}
