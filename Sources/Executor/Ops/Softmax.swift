import Foundation

/// Softmax and LogSoftmax. From opset 13 along one axis (default -1); before, over the input
/// flattened to 2-D at `axis` (default 1), all trailing axes together.
struct Softmax: Operator {
  let axis: Int
  let coerced2D: Bool
  let logarithm: Bool

  static func build(_ b: OpBuilder) throws -> Operator {
    let coerced = b.opset < 13
    return Softmax(
      axis: try b.int("axis", default: coerced ? 1 : -1), coerced2D: coerced, logarithm: b.node.opType == "LogSoftmax")
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let v = try x.requireFloats()
    let a = try Axes.normalize(axis, rank: x.shape.count)
    // View as [outer, n, inner] and normalise along n.
    let outer = Axes.product(x.shape, 0..<a)
    let n = coerced2D ? Axes.product(x.shape, a..<x.shape.count) : (x.shape.isEmpty ? 1 : x.shape[a])
    let inner = coerced2D ? 1 : Axes.product(x.shape, (a + 1)..<x.shape.count)
    var out = v
    for o in 0..<outer {
      for i in 0..<inner {
        let base = o * n * inner + i
        var m = -Float.infinity
        for k in 0..<n { m = Swift.max(m, v[base + k * inner]) }
        var sum: Float = 0
        for k in 0..<n { let e = expf(v[base + k * inner] - m); out[base + k * inner] = e; sum += e }
        if logarithm {
          let l = logf(sum)
          for k in 0..<n { out[base + k * inner] = v[base + k * inner] - m - l }
        } else {
          for k in 0..<n { out[base + k * inner] /= sum }
        }
      }
    }
    return [x.with(shape: x.shape, storage: .floats(out))]
  }
}
