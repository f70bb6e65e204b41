import Foundation

/// LayerNormalization (opset 17): normalise over axes axis…rank−1, then scale and bias
/// (broadcast to those axes). Optional outputs Mean and InvStdDev keep the reduced axes as 1.
/// Statistics accumulate in Double (stash_type 1 asks for at least float32).
struct LayerNormalization: Operator {
  let axis: Int
  let epsilon: Float

  static func build(_ b: OpBuilder) throws -> Operator {
    let stash = try b.int("stash_type", default: 1)
    guard stash == 1 else { throw b.unsupported("stash_type=\(stash)") }
    return LayerNormalization(axis: try b.int("axis", default: -1), epsilon: try b.float("epsilon", default: 1e-5))
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let xv = try inputs.required(0)
    let x = try xv.requireFloats()
    let r = xv.shape.count
    let a = try Axes.normalize(axis, rank: r)
    let inner = Array(xv.shape[a...]), size = inner.reduce(1, *), rows = Axes.product(xv.shape, 0..<a)
    let sv = try inputs.required(1)
    guard (try? Broadcast.shape(sv.shape, inner)) == inner else { throw OpFailure("Scale \(sv.shape) does not broadcast to \(inner)") }
    let scale = Broadcast.expand(try sv.requireFloats("Scale"), sv.shape, to: inner)
    var bias = [Float](repeating: 0, count: size)
    if let bv = inputs.optional(2) {
      guard (try? Broadcast.shape(bv.shape, inner)) == inner else { throw OpFailure("B \(bv.shape) does not broadcast to \(inner)") }
      bias = Broadcast.expand(try bv.requireFloats("B"), bv.shape, to: inner)
    }
    var y = x, means = [Float](repeating: 0, count: rows), inverse = means
    for row in 0..<rows {
      let base = row * size
      var sum = 0.0
      for i in 0..<size { sum += Double(x[base + i]) }
      let mean = sum / Double(size)
      var squares = 0.0
      for i in 0..<size { let d = Double(x[base + i]) - mean; squares += d * d }
      let inv = 1 / (squares / Double(size) + Double(epsilon)).squareRoot()
      for i in 0..<size { y[base + i] = Float((Double(x[base + i]) - mean) * inv) * scale[i] + bias[i] }
      means[row] = Float(mean)
      inverse[row] = Float(inv)
    }
    let statShape = Array(xv.shape[..<a]) + [Int](repeating: 1, count: r - a)
    return [
      xv.with(shape: xv.shape, storage: .floats(y)),
      xv.with(shape: statShape, storage: .floats(means)),
      xv.with(shape: statShape, storage: .floats(inverse)),
    ]
  }
}
