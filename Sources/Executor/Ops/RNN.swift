/// RNN (opset 7/14): H = f(X·Wᵀ + H₋·Rᵀ + Wb + Rb), default f = Tanh.
struct RNN: Operator {
  let recurrence: Recurrence

  static func build(_ b: OpBuilder) throws -> Operator { RNN(recurrence: try Recurrence(b, defaults: ["Tanh"])) }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let r = recurrence, hs = r.hidden, d = r.directions
    let xv = try inputs.required(0)
    let (x, seq, batch, input) = try r.timeMajor(xv)
    let w = try inputs.required(1).requireFloats("W"), rw = try inputs.required(2).requireFloats("R")
    guard w.count == d * hs * input, rw.count == d * hs * hs else { throw OpFailure("W or R does not match hidden_size \(hs) and \(d) direction(s)") }
    let bias = try inputs.optional(3)?.requireFloats("B") ?? [Float](repeating: 0, count: d * 2 * hs)
    guard bias.count == d * 2 * hs else { throw OpFailure("B does not match hidden_size \(hs)") }
    let lengths = try r.lengths(inputs.optional(4), seq: seq, batch: batch)
    var h = try r.state(inputs.optional(5), batch: batch)
    var y = [Float](repeating: 0, count: seq * d * batch * hs)
    for k in 0..<d {
      let f = r.activations[k][0]
      let xw = x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
        r.multiplyTransposed(xp.baseAddress!, seq * batch, input, wp.baseAddress! + k * hs * input, hs)
      } }
      for t in 0..<seq {
        let hr = h.withUnsafeBufferPointer { hp in rw.withUnsafeBufferPointer { rp in
          r.multiplyTransposed(hp.baseAddress! + k * batch * hs, batch, hs, rp.baseAddress! + k * hs * hs, hs)
        } }
        for b in 0..<batch where t < lengths[b] {
          let time = r.reverse[k] ? lengths[b] - 1 - t : t
          for j in 0..<hs {
            let at = (k * batch + b) * hs + j
            h[at] = f(r.clipped(xw[(time * batch + b) * hs + j] + hr[b * hs + j] + bias[k * 2 * hs + j] + bias[k * 2 * hs + hs + j]))
            y[((time * d + k) * batch + b) * hs + j] = h[at]
          }
        }
      }
    }
    return r.outputs(xv, y: y, states: [h], seq: seq, batch: batch)
  }
}
