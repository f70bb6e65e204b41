/// Reshape: the shape input's 0 copies the input dim (unless allowzero=1), -1 is inferred.
struct Reshape: Operator {
  let allowZero: Bool
  let shapeAttribute: [Int]?

  static func build(_ b: OpBuilder) throws -> Operator {
    Reshape(allowZero: try b.int("allowzero", default: 0) != 0, shapeAttribute: b.opset < 5 ? try b.ints("shape") : nil)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let requested = try shapeAttribute ?? inputs.required(1).requireInts("shape")
    return [x.reshaped(try Self.resolve(requested, input: x.shape, allowZero: allowZero))]
  }

  static func resolve(_ requested: [Int], input: [Int], allowZero: Bool) throws -> [Int] {
    var shape = requested
    var inferred: Int? = nil
    for (i, d) in requested.enumerated() {
      if d == 0 && !allowZero {
        guard i < input.count else { throw OpFailure("shape \(requested) copies axis \(i), which input \(input) lacks") }
        shape[i] = input[i]
      } else if d == -1 {
        guard inferred == nil else { throw OpFailure("shape \(requested) has more than one -1") }
        inferred = i
      } else if d < 0 {
        throw OpFailure("shape \(requested) has a negative size")
      }
    }
    let total = input.reduce(1, *)
    if let i = inferred {
      let known = try Axes.checkedCount(shape.enumerated().filter { $0.offset != i }.map(\.element))
      guard known > 0, total % known == 0 else { throw OpFailure("cannot reshape \(input) to \(requested)") }
      shape[i] = total / known
    }
    guard (try? Axes.checkedCount(shape)) == total else { throw OpFailure("cannot reshape \(input) (\(total) values) to \(requested)") }
    return shape
  }
}
