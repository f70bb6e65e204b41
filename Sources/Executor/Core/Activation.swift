import Foundation

/// An activation function named in an RNN/GRU/LSTM `activations` attribute, with its alpha and
/// beta bound (taken in order from activation_alpha/beta by the functions that use them).
enum Activation: Sendable {
  case sigmoid, tanh, relu, softsign, softplus
  case leakyRelu(Float), thresholdedRelu(Float), elu(Float)
  case hardSigmoid(Float, Float), affine(Float, Float), scaledTanh(Float, Float)

  /// Parses `names`, consuming `alphas`/`betas` in order.
  static func parse(_ names: [String], alphas: [Float], betas: [Float]) throws -> [Activation] {
    var a = alphas.makeIterator(), b = betas.makeIterator()
    return try names.map { name in
      switch name.lowercased() {
      case "sigmoid": return .sigmoid
      case "tanh": return .tanh
      case "relu": return .relu
      case "softsign": return .softsign
      case "softplus": return .softplus
      case "leakyrelu": return .leakyRelu(a.next() ?? 0.01)
      case "thresholdedrelu": return .thresholdedRelu(a.next() ?? 1)
      case "elu": return .elu(a.next() ?? 1)
      case "hardsigmoid": return .hardSigmoid(a.next() ?? 0.2, b.next() ?? 0.5)
      case "affine": return .affine(a.next() ?? 1, b.next() ?? 0)
      case "scaledtanh": return .scaledTanh(a.next() ?? 1, b.next() ?? 1)
      default: throw OpFailure("activation '\(name)'")
      }
    }
  }

  func callAsFunction(_ x: Float) -> Float {
    switch self {
    case .sigmoid: logistic(x)
    case .tanh: tanhf(x)
    case .relu: max(0, x)
    case .softsign: x / (1 + abs(x))
    case .softplus: x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x))
    case .leakyRelu(let a): x >= 0 ? x : a * x
    case .thresholdedRelu(let a): x > a ? x : 0
    case .elu(let a): x >= 0 ? x : a * (expf(x) - 1)
    case .hardSigmoid(let a, let b): min(1, max(0, a * x + b))
    case .affine(let a, let b): a * x + b
    case .scaledTanh(let a, let b): a * tanhf(b * x)
    }
  }
}
