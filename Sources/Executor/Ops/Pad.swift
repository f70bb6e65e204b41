/// Pad with mode constant, reflect, edge or wrap. Pads (begin…, end…) come from the attribute
/// before opset 11, from inputs after (with optional constant_value and, from 18, axes);
/// negative pads crop.
struct Pad: Operator {
  enum Mode: String, Sendable { case constant, reflect, edge, wrap }
  let mode: Mode
  let padsAttribute: [Int]?
  let valueAttribute: Float

  static func build(_ b: OpBuilder) throws -> Operator {
    let raw = try b.string("mode", default: "constant")
    guard let mode = Mode(rawValue: raw), mode != .wrap || b.opset >= 19 else { throw b.unsupported("mode='\(raw)'") }
    if b.opset < 11 {
      guard let pads = try b.ints(b.opset < 2 ? "paddings" : "pads") else { throw b.invalid("pads are required") }
      return Pad(mode: mode, padsAttribute: pads, valueAttribute: try b.float("value", default: 0))
    }
    return Pad(mode: mode, padsAttribute: nil, valueAttribute: 0)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let r = x.shape.count
    var pads = [Int](repeating: 0, count: 2 * r)
    let given = try padsAttribute ?? inputs.required(1).requireInts("pads")
    let axes = try (inputs.optional(3)?.requireInts("axes") ?? Array(0..<r)).map { try Axes.normalize($0, rank: r) }
    guard given.count == 2 * axes.count else { throw OpFailure("pads has \(given.count) values; \(2 * axes.count) needed") }
    for (i, a) in axes.enumerated() { pads[a] = given[i]; pads[a + r] = given[i + axes.count] }
    guard pads.allSatisfy({ abs($0) < 1 << 40 }) else { throw OpFailure("pads \(pads) are out of range") }
    let shape = (0..<r).map { x.shape[$0] + pads[$0] + pads[$0 + r] }
    guard shape.allSatisfy({ $0 >= 0 }) else { throw OpFailure("pads \(pads) crop more than input \(x.shape)") }
    _ = try Axes.checkedCount(shape)
    if mode != .constant, x.count == 0, shape.reduce(1, *) > 0 { throw OpFailure("cannot \(mode.rawValue)-pad an empty tensor") }
    // Source coordinate per output coordinate and axis; -1 reads the constant.
    let maps: [[Int]] = (0..<r).map { d in
      let n = x.shape[d]
      return (0..<shape[d]).map { o in
        var i = o - pads[d]
        if i >= 0 && i < n { return i }
        switch mode {
        case .constant: return -1
        case .edge: return Swift.min(Swift.max(i, 0), n - 1)
        case .wrap: return ((i % n) + n) % n
        case .reflect:
          if n == 1 { return 0 }
          let period = 2 * (n - 1)
          i = ((i % period) + period) % period
          return i < n ? i : period - i
        }
      }
    }
    let strides = Axes.strides(x.shape), outStrides = Axes.strides(shape)
    let total = shape.reduce(1, *)
    let source = (0..<total).map { flat -> Int in
      var rest = flat, offset = 0
      for d in 0..<r {
        let i = maps[d][rest / outStrides[d]]
        if i < 0 { return -1 }
        offset += i * strides[d]
        rest %= outStrides[d]
      }
      return offset
    }
    let fill = padsAttribute != nil ? TensorValue(shape: [], floats: [valueAttribute]) : inputs.optional(2)
    let storage: TensorValue.Storage
    switch x.storage {
    case .floats(let v):
      let c = try fill?.scalarFloat("constant_value") ?? 0
      storage = .floats(source.map { $0 < 0 ? c : v[$0] })
    case .integers(let v):
      let c = try fill.map { try $0.requireIntegers("constant_value").first ?? 0 } ?? 0
      storage = .integers(source.map { $0 < 0 ? c : v[$0] })
    case .bools(let v):
      let c = try fill.map { try $0.requireBools("constant_value").first ?? false } ?? false
      storage = .bools(source.map { $0 < 0 ? c : v[$0] })
    }
    return [x.with(shape: shape, storage: storage)]
  }
}
