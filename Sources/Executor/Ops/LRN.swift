import Foundation

/// LRN across channels: y = x / (bias + alpha/size · Σ x²)^beta over channels
/// c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉.
struct LRN: Operator {
  let alpha: Float
  let beta: Float
  let bias: Float
  let size: Int

  static func build(_ b: OpBuilder) throws -> Operator {
    let size = try b.int("size", default: 0)
    guard size >= 1 else { throw b.invalid("attribute 'size' is required and must be positive") }
    return LRN(
      alpha: try b.float("alpha", default: 1e-4), beta: try b.float("beta", default: 0.75),
      bias: try b.float("bias", default: 1), size: size)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let xv = try inputs.required(0)
    let x = try xv.requireFloats()
    guard xv.shape.count >= 2 else { throw OpFailure("input \(xv.shape) must have at least 2 axes") }
    let n = xv.shape[0], c = xv.shape[1], inner = Axes.product(xv.shape, 2..<xv.shape.count)
    let below = (size - 1) / 2, above = size - 1 - below
    var y = x
    for img in 0..<n {
      for ch in 0..<c {
        let lo = max(0, ch - below), hi = min(c - 1, ch + above)
        for i in 0..<inner {
          var sum: Float = 0
          for k in lo...hi { let v = x[(img * c + k) * inner + i]; sum += v * v }
          let at = (img * c + ch) * inner + i
          y[at] = x[at] / powf(bias + alpha / Float(size) * sum, beta)
        }
      }
    }
    return [xv.with(shape: xv.shape, storage: .floats(y))]
  }
}
