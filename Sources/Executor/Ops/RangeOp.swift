/// Range(start, limit, delta): ceil((limit − start) / delta) values start + i·delta, in the
/// inputs' type (float or integer).
struct RangeOp: Operator {
  static func build(_ b: OpBuilder) throws -> Operator { RangeOp() }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let s = try inputs.required(0), l = try inputs.required(1), d = try inputs.required(2)
    switch (s.storage, l.storage, d.storage) {
    case (.integers(let a), .integers(let b), .integers(let c)):
      guard let start = a.first, let limit = b.first, let delta = c.first, delta != 0 else { throw OpFailure("delta must be a non-zero scalar") }
      let steps = ((Double(limit) - Double(start)) / Double(delta)).rounded(.up)
      guard steps < Double(1 << 40) else { throw OpFailure("Range would hold \(steps) values") }
      let n = max(0, Int(steps))
      return [s.with(shape: [n], storage: .integers((0..<n).map { start &+ Int64($0) &* delta }))]
    case (.floats(let a), .floats(let b), .floats(let c)):
      guard let start = a.first, let limit = b.first, let delta = c.first, delta != 0 else { throw OpFailure("delta must be a non-zero scalar") }
      let steps = ((limit - start) / delta).rounded(.up)
      guard steps.isFinite, steps < Float(1 << 40) else { throw OpFailure("Range would hold \(steps) values") }
      let n = max(0, Int(steps))
      return [s.with(shape: [n], storage: .floats((0..<n).map { start + Float($0) * delta }))]
    default:
      throw OpFailure("start, limit and delta must share one numeric type")
    }
  }
}
