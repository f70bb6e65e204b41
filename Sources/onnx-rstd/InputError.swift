import ONNX
import NumPyIO

/// Inputs given to `run` or `verify` that do not fit the model. Each `description` is one
/// sentence naming the input, what the model declares and what was given.
enum InputError: Error, CustomStringConvertible, Equatable {
  /// `file` holds an array `name` that is not a graph input.
  case unknownName(file: String, name: String, inputs: [String])
  /// `file` lacks the graph input `name`.
  case missing(file: String, name: String)
  /// The array for input `name` has dtype `given`; the model declares `declared`.
  case dtype(file: String, name: String, declared: String, given: NPYDType)
  /// The array for input `name` has shape `given`; the model declares `declared`.
  case shape(file: String, name: String, declared: String, given: [Int])
  /// Dimension `dim` is `value` in input `name` but `earlier` in another input.
  case symbolicConflict(file: String, name: String, dim: String, value: Int, earlier: Int)
  /// Input `name` has an element type that .npy files (or `--random`) cannot supply.
  case unsupportedType(name: String, type: String)
  /// Input `name` declares no tensor type, so `--random` cannot build it.
  case undeclared(name: String)

  var description: String {
    switch self {
    case .unknownName(let file, let name, let inputs):
      return "'\(file)' holds '\(name)', which is not an input of the model (inputs: \(inputs.joined(separator: ", ")))."
    case .missing(let file, let name):
      return "'\(file)' has no array for the model input '\(name)'."
    case .dtype(let file, let name, let declared, let given):
      return "input '\(name)' in '\(file)' is \(given); the model declares \(declared)."
    case .shape(let file, let name, let declared, let given):
      return "input '\(name)' in '\(file)' has shape \(given); the model declares \(declared)."
    case .symbolicConflict(let file, let name, let dim, let value, let earlier):
      return "input '\(name)' in '\(file)' sets dimension '\(dim)' to \(value), but an earlier input set it to \(earlier)."
    case .unsupportedType(let name, let type):
      return "input '\(name)' is \(type), which .npz inputs and --random cannot supply (float16/32/64, int8/32/64, uint8, bool)."
    case .undeclared(let name):
      return "input '\(name)' declares no tensor type or shape; give it in --inputs (or its shape with --input-shape)."
    }
  }
}
