/// InstanceNormalization: per image and channel, y = scale · (x − mean) / √(var + ε) + bias,
/// mean and (biased) variance over the spatial axes, accumulated in Double.
struct InstanceNormalization: Operator {
  let epsilon: Float

  static func build(_ b: OpBuilder) throws -> Operator {
    if b.opset < 6 { _ = try b.ints("consumed_inputs") }
    return InstanceNormalization(epsilon: try b.float("epsilon", default: 1e-5))
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let xv = try inputs.required(0)
    let x = try xv.requireFloats()
    let scale = try inputs.required(1).requireFloats("scale"), bias = try inputs.required(2).requireFloats("B")
    guard xv.shape.count >= 3 else { throw OpFailure("input \(xv.shape) must have at least 3 axes") }
    let n = xv.shape[0], c = xv.shape[1], size = Axes.product(xv.shape, 2..<xv.shape.count)
    guard scale.count == c, bias.count == c else { throw OpFailure("scale and B must hold \(c) values") }
    var out = x
    for img in 0..<n {
      for ch in 0..<c {
        let base = (img * c + ch) * size
        var sum = 0.0, squares = 0.0
        for i in base..<(base + size) { let v = Double(x[i]); sum += v; squares += v * v }
        let mean = sum / Double(size)
        let variance = max(0, squares / Double(size) - mean * mean)
        let k = Double(scale[ch]) / (variance + Double(epsilon)).squareRoot()
        for i in base..<(base + size) { out[i] = Float((Double(x[i]) - mean) * k + Double(bias[ch])) }
      }
    }
    return [xv.with(shape: xv.shape, storage: .floats(out))]
  }
}
