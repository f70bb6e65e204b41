/// ArgMax and ArgMin along `axis` (keepdims, select_last_index), as INT64; ties go to the
/// first index unless select_last_index=1.
struct ArgExtreme: Operator {
  let isMax: Bool
  let axis: Int
  let keepDims: Bool
  let selectLast: Bool

  static func build(_ b: OpBuilder) throws -> Operator {
    ArgExtreme(
      isMax: b.node.opType == "ArgMax", axis: try b.int("axis", default: 0), keepDims: try b.int("keepdims", default: 1) != 0,
      selectLast: try b.int("select_last_index", default: 0) != 0)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let values: [Double]
    switch x.storage {
    case .floats(let v): values = v.map(Double.init)
    case .integers(let v): values = v.map(Double.init)
    case .bools: throw OpFailure("ArgMax/ArgMin do not take BOOL")
    }
    let r = x.shape.count
    let a = try Axes.normalize(axis, rank: r)
    let n = x.shape[a], outer = Axes.product(x.shape, 0..<a), inner = Axes.product(x.shape, (a + 1)..<r)
    guard n > 0 else { throw OpFailure("axis \(a) is empty") }
    var out = [Int64](repeating: 0, count: outer * inner)
    for o in 0..<outer {
      for i in 0..<inner {
        var best = 0
        for k in 1..<max(n, 1) {
          let v = values[(o * n + k) * inner + i], b = values[(o * n + best) * inner + i]
          let better = isMax ? (v > b || (selectLast && v == b)) : (v < b || (selectLast && v == b))
          if better { best = k }
        }
        out[o * inner + i] = Int64(best)
      }
    }
    var shape = x.shape
    if keepDims { shape[a] = 1 } else { shape.remove(at: a) }
    return [TensorValue(shape: shape, integers: out)]
  }
}
