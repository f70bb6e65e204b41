/// BatchNormalization in inference mode: y = scale · (x − mean) / √(var + ε) + bias per channel
/// (axis 1). Training mode (`training_mode=1`, or opset < 7's `is_test=0`) is rejected.
struct BatchNormalization: Operator {
  let epsilon: Float

  static func build(_ b: OpBuilder) throws -> Operator {
    let epsilon = try b.float("epsilon", default: 1e-5)
    _ = try b.float("momentum", default: 0.9)  // only used in training
    if try b.int("training_mode", default: 0) != 0 { throw b.unsupported("training_mode=1") }
    if b.node.outputs.count > 1 && b.node.outputs.dropFirst().contains(where: { !$0.isEmpty }) {
      throw b.unsupported("running mean/variance outputs (training)")
    }
    if b.opset < 9, try b.int("spatial", default: 1) != 1 { throw b.unsupported("spatial=0") }
    if b.opset < 7 {
      if try b.int("is_test", default: 0) != 1 { throw b.unsupported("is_test=0 (training)") }
      _ = try b.ints("consumed_inputs")  // BatchNormalization-1's in-place hint; no effect on values
    }
    return BatchNormalization(epsilon: epsilon)
  }

  /// Per channel, y = x · k + shift (also what a Conv's fused epilogue applies, same bits).
  func folded(scale: [Float], bias: [Float], mean: [Float], variance: [Float]) -> (k: [Float], shift: [Float]) {
    let k = scale.indices.map { scale[$0] / (variance[$0] + epsilon).squareRoot() }
    return (k, scale.indices.map { bias[$0] - mean[$0] * k[$0] })
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let v = try x.requireFloats()
    let scale = try inputs.required(1).requireFloats("scale"), bias = try inputs.required(2).requireFloats("bias")
    let mean = try inputs.required(3).requireFloats("mean"), variance = try inputs.required(4).requireFloats("var")
    guard x.shape.count >= 2 else { throw OpFailure("input must have at least 2 axes, has \(x.shape.count)") }
    let n = x.shape[0], c = x.shape[1], inner = Axes.product(x.shape, 2..<x.shape.count)
    guard [scale.count, bias.count, mean.count, variance.count].allSatisfy({ $0 == c }) else {
      throw OpFailure("scale, bias, mean and var must each hold \(c) values (one per channel)")
    }
    let (k, shift) = folded(scale: scale, bias: bias, mean: mean, variance: variance)
    let out = [Float](unsafeUninitializedCapacity: v.count) { out, initialized in
      v.withUnsafeBufferPointer { src in
        // One piece per (image, channel) plane: the split depends on the shape only.
        parallelFor(n * c, threads: inner >= 4096 ? context.threads : 1) { plane in
          let ch = plane % c, base = plane * inner
          for i in base..<(base + inner) { out[i] = src[i] * k[ch] + shift[ch] }
        }
      }
      initialized = v.count
    }
    return [x.with(shape: x.shape, storage: .floats(out))]
  }
}
