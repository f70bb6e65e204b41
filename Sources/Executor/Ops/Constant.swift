/// Constant: its value decoded once at compile time (value, value_float(s), value_int(s)).
struct Constant: Operator {
  let value: TensorValue

  static func build(_ b: OpBuilder) throws -> Operator {
    if let t = try b.tensor("value") { return Constant(value: t) }
    if b.has("value_float") { return Constant(value: TensorValue(shape: [], floats: [try b.float("value_float", default: 0)])) }
    if let v = try b.floats("value_floats") { return Constant(value: TensorValue(shape: [v.count], floats: v)) }
    if b.has("value_int") { return Constant(value: TensorValue(shape: [], integers: [Int64(try b.int("value_int", default: 0))])) }
    if let v = try b.ints("value_ints") { return Constant(value: TensorValue(shape: [v.count], integers: v.map { Int64($0) })) }
    for other in ["sparse_value", "value_string", "value_strings"] where b.has(other) {
      throw b.unsupported("attribute '\(other)'")
    }
    throw b.invalid("no value attribute")
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] { [value] }
}
