/// The result of one ONNX backend node test.
enum NodeTestOutcome: Equatable {
  /// Every output matched within tolerance.
  case passed
  /// The executor ran and gave a wrong answer, or failed at run time.
  case failed(String)
  /// Rejected before running (unsupported op, attribute value, type): out of scope, with why.
  case outOfScope(String)

  var isPass: Bool { self == .passed }

  var reason: String? {
    switch self {
    case .passed: nil
    case .failed(let r), .outOfScope(let r): r
    }
  }
}
