/// Access to an op's inputs with run-time checks that name what went wrong.
extension Array where Element == TensorValue? {
  /// Input `i`, which the op requires.
  func required(_ i: Int) throws -> TensorValue {
    guard i < count, let v = self[i] else { throw OpFailure("required input \(i) is missing") }
    return v
  }

  /// Input `i`, nil when omitted.
  func optional(_ i: Int) -> TensorValue? { i < count ? self[i] : nil }
}

extension TensorValue {
  /// The float values, or a failure naming the type found.
  func requireFloats(_ what: String = "input") throws -> [Float] {
    guard let v = floats else { throw OpFailure("\(what) has type \(elementType.name); a floating-point type is needed") }
    return v
  }

  /// The integer values, or a failure naming the type found.
  func requireIntegers(_ what: String = "input") throws -> [Int64] {
    guard let v = integers else { throw OpFailure("\(what) has type \(elementType.name); an integer type is needed") }
    return v
  }

  /// The boolean values, or a failure naming the type found.
  func requireBools(_ what: String = "input") throws -> [Bool] {
    guard let v = bools else { throw OpFailure("\(what) has type \(elementType.name); BOOL is needed") }
    return v
  }

  /// Integer values as `Int` (shapes, axes, indices).
  func requireInts(_ what: String = "input") throws -> [Int] {
    try requireIntegers(what).map { Int(truncatingIfNeeded: $0) }
  }

  /// A single scalar as Float, whatever the storage (Clip bounds, fill values).
  func scalarFloat(_ what: String) throws -> Float {
    guard count == 1 else { throw OpFailure("\(what) must hold one value, not \(count)") }
    switch storage {
    case .floats(let v): return v[0]
    case .integers(let v): return Float(v[0])
    case .bools(let v): return v[0] ? 1 : 0
    }
  }
}
