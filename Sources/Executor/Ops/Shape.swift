/// Shape (with opset 15's start/end) and Size, as INT64.
struct Shape: Operator {
  let start: Int
  let end: Int?
  let size: Bool

  static func build(_ b: OpBuilder) throws -> Operator {
    if b.node.opType == "Size" { return Shape(start: 0, end: nil, size: true) }
    let start = try b.int("start", default: 0)
    let end = b.has("end") ? try b.int("end", default: 0) : nil
    return Shape(start: start, end: end, size: false)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    if size { return [TensorValue(shape: [], integers: [Int64(x.count)])] }
    let r = x.shape.count
    func clamp(_ i: Int) -> Int { min(max(i < 0 ? i + r : i, 0), r) }
    let s = clamp(start), e = clamp(end ?? r)
    let dims = s < e ? x.shape[s..<e].map { Int64($0) } : []
    return [TensorValue(shape: [dims.count], integers: dims)]
  }
}
