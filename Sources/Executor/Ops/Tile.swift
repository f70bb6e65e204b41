/// Tile: axis i repeated repeats[i] times.
struct Tile: Operator {
  static func build(_ b: OpBuilder) throws -> Operator { Tile() }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let repeats = try inputs.required(1).requireInts("repeats")
    let r = x.shape.count
    guard repeats.count == r, repeats.allSatisfy({ $0 >= 0 }) else {
      throw OpFailure("repeats \(repeats) must hold \(r) non-negative values")
    }
    let shape = try zip(x.shape, repeats).map { d, r -> Int in
      let (p, overflow) = d.multipliedReportingOverflow(by: r)
      guard !overflow else { throw OpFailure("repeats \(repeats) make too many elements") }
      return p
    }
    _ = try Axes.checkedCount(shape)
    let strides = Axes.strides(x.shape), outStrides = Axes.strides(shape)
    let total = shape.reduce(1, *)
    let source = (0..<total).map { flat -> Int in
      var rest = flat, offset = 0
      for d in 0..<r { offset += ((rest / outStrides[d]) % x.shape[d]) * strides[d]; rest %= outStrides[d] }
      return offset
    }
    return [x.with(shape: shape, storage: x.storage.picking(source))]
  }
}
