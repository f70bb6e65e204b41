/// GlobalAveragePool and GlobalMaxPool: one value per (image, channel) over all spatial axes.
struct GlobalPool: Operator {
  let isMax: Bool

  /// Input elements below which the pool runs on one thread (waking a second costs more).
  static let parallelInputs = 1 << 15

  static func build(_ b: OpBuilder) throws -> Operator { GlobalPool(isMax: b.node.opType == "GlobalMaxPool") }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let xv = try inputs.required(0)
    let x = try xv.requireFloats("X")
    guard xv.shape.count >= 2 else { throw OpFailure("X \(xv.shape) must have at least 2 axes") }
    let planes = xv.shape[0] * xv.shape[1], size = Axes.product(xv.shape, 2..<xv.shape.count)
    var out = [Float](repeating: 0, count: planes)
    // Planes are independent pieces (same bits for any thread count).
    out.withUnsafeMutableBufferPointer { out in
      parallelFor(planes, threads: x.count >= Self.parallelInputs ? context.threads : 1) { p in
        let slice = x[(p * size)..<((p + 1) * size)]
        out[p] = isMax ? (slice.max() ?? -.infinity) : slice.reduce(0, +) / Float(size)
      }
    }
    let shape = Array(xv.shape[0..<2]) + [Int](repeating: 1, count: xv.shape.count - 2)
    return [xv.with(shape: shape, storage: .floats(out))]
  }
}
