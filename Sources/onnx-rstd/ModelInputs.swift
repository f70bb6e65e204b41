import Executor
import Foundation
import NumPyIO
import ONNX
import TensorAlgebra

/// The graph inputs a run needs, as the model declares them, and the two ways to fill them:
/// arrays from a .npz (checked against the declaration) or seeded random values.
struct ModelInputs {
  /// Graph inputs that are not initializers, in graph order.
  let declared: [ValueInfo]

  init(model: Model) {
    let names = Set(model.graph.inputNames)
    declared = model.graph.inputs.filter { names.contains($0.name) }
  }

  /// Reads `path` and checks it against the declared inputs: every array names an input, every
  /// input has an array, of the declared dtype and a shape that fits the declared one (fixed
  /// dimensions equal; a symbolic dimension takes one size across all inputs; a negative fixed
  /// size, which some exporters write for a dynamic one, matches any size).
  /// - Throws: `NumPyIOError` for the file, `InputError` for a mismatch.
  func load(npz path: String) throws -> [String: TensorValue] {
    let arrays = try NPZ.read(path: path)
    let byName = Dictionary(arrays.map { ($0.name, $0.array) }, uniquingKeysWith: { first, _ in first })
    for (name, _) in arrays where !declared.contains(where: { $0.name == name }) {
      throw InputError.unknownName(file: path, name: name, inputs: declared.map(\.name))
    }
    var bound: [String: Int] = [:]
    var values: [String: TensorValue] = [:]
    for input in declared {
      guard let array = byName[input.name] else { throw InputError.missing(file: path, name: input.name) }
      let type: TensorElementType
      if let declaredType = input.dataType {
        guard let npyType = TensorValue.npyType(of: declaredType) else {
          throw InputError.unsupportedType(name: input.name, type: declaredType.name)
        }
        guard array.dtype == npyType else {
          throw InputError.dtype(file: path, name: input.name, declared: "\(declaredType.name) (\(npyType))", given: array.dtype)
        }
        type = declaredType
      } else {
        type = Self.elementType(of: array.dtype)
      }
      try Self.check(array.shape, against: input, bound: &bound, source: path)
      values[input.name] = TensorValue(array, as: type)
    }
    return values
  }

  /// One set of seeded random inputs. Floats are standard normal, integers uniform in [0, 4),
  /// booleans fair coins (as Scripts/verify draws them). A shape comes from `shapes` when given,
  /// else from the declaration, with each symbolic or unknown dimension set to 1 on the first
  /// axis and 64 on the others (a symbolic name keeps the size it got first).
  /// - Throws: `InputError` for an input without a usable type or shape.
  func random(seed: UInt64, shapes: [String: [Int]]) throws -> [String: TensorValue] {
    var generator = SplitMix64(seed: seed)
    var bound: [String: Int] = [:]
    var values: [String: TensorValue] = [:]
    for input in declared {
      guard let type = input.dataType else { throw InputError.undeclared(name: input.name) }
      guard TensorValue.npyType(of: type) != nil else { throw InputError.unsupportedType(name: input.name, type: type.name) }
      let shape: [Int]
      if let given = shapes[input.name] {
        try Self.check(given, against: input, bound: &bound, source: "--input-shape")
        shape = given
      } else {
        guard let dims = input.shape else { throw InputError.undeclared(name: input.name) }
        shape = dims.enumerated().map { axis, dim in
          switch dim {
          case .fixed(let n) where n >= 0: return n
          case .symbolic(let s) where !Self.anonymous(s):
            let n = bound[s] ?? (axis == 0 ? 1 : 64)
            bound[s] = n
            return n
          case .fixed, .symbolic, .unknown: return axis == 0 ? 1 : 64  // exporters write -1 for "dynamic"
          }
        }
      }
      let count = shape.reduce(1, *)
      let storage: TensorValue.Storage
      if type.isFloatingPoint {
        storage = .floats((0..<count).map { _ in generator.nextStandardNormal() })
      } else if type == .bool {
        storage = .bools((0..<count).map { _ in generator.next() >> 63 == 1 })
      } else {
        storage = .integers((0..<count).map { _ in Int64(generator.next() >> 62) })
      }
      values[input.name] = TensorValue(elementType: type, shape: shape, storage: storage)
    }
    return values
  }

  /// Checks `shape` against the declaration of `input`, binding its symbolic dimensions.
  private static func check(_ shape: [Int], against input: ValueInfo, bound: inout [String: Int], source: String) throws {
    guard let dims = input.shape else { return }
    let declared = "[" + dims.map(\.description).joined(separator: ", ") + "]"
    guard dims.count == shape.count else { throw InputError.shape(file: source, name: input.name, declared: declared, given: shape) }
    for (dim, n) in zip(dims, shape) {
      switch dim {
      case .fixed(let d) where d >= 0 && d != n:  // a negative size is an exporter's "dynamic"
        throw InputError.shape(file: source, name: input.name, declared: declared, given: shape)
      case .symbolic(let s) where !Self.anonymous(s):
        if let earlier = bound[s], earlier != n {
          throw InputError.symbolicConflict(file: source, name: input.name, dim: s, value: n, earlier: earlier)
        }
        bound[s] = n
      default:
        break
      }
    }
  }

  /// A dimension name that means "unknown", not "the same size wherever it appears": PaddlePaddle's
  /// exporter writes "?" on several axes of one input (PP-OCR cls: [-1, 3, ?, ?]).
  private static func anonymous(_ name: String) -> Bool { name == "?" || name.isEmpty }

  /// The ONNX type an undeclared input takes from its array.
  private static func elementType(of dtype: NPYDType) -> TensorElementType {
    switch dtype {
    case .float16: return .float16
    case .float32: return .float
    case .float64: return .double
    case .int8: return .int8
    case .uint8: return .uint8
    case .int32: return .int32
    case .int64: return .int64
    case .bool: return .bool
    }
  }
}
