/// LSTM (opset 7/14), gates in ONNX order i, o, f, c:
/// i = f(Xᵢ + Hᵢ + Pᵢ⊙C₋), f = f(X_f + H_f + P_f⊙C₋), c̃ = g(X_c + H_c), C = f⊙C₋ + i⊙c̃,
/// o = f(X_o + H_o + P_o⊙C), H = o⊙h(C); X· and H· include the W and R biases.
struct LSTM: Operator {
  let recurrence: Recurrence

  static func build(_ b: OpBuilder) throws -> Operator {
    if try b.int("input_forget", default: 0) != 0 { throw b.unsupported("input_forget=1") }
    return LSTM(recurrence: try Recurrence(b, defaults: ["Sigmoid", "Tanh", "Tanh"]))
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let r = recurrence, hs = r.hidden, d = r.directions
    let xv = try inputs.required(0)
    let (x, seq, batch, input) = try r.timeMajor(xv)
    let w = try inputs.required(1).requireFloats("W"), rw = try inputs.required(2).requireFloats("R")
    guard w.count == d * 4 * hs * input, rw.count == d * 4 * hs * hs else { throw OpFailure("W or R does not match hidden_size \(hs) and \(d) direction(s)") }
    let bias = try inputs.optional(3)?.requireFloats("B") ?? [Float](repeating: 0, count: d * 8 * hs)
    let lengths = try r.lengths(inputs.optional(4), seq: seq, batch: batch)
    var h = try r.state(inputs.optional(5), batch: batch), c = try r.state(inputs.optional(6), batch: batch)
    let peep = try inputs.optional(7)?.requireFloats("P") ?? [Float](repeating: 0, count: d * 3 * hs)
    guard bias.count == d * 8 * hs, peep.count == d * 3 * hs else { throw OpFailure("B or P does not match hidden_size \(hs)") }
    var y = [Float](repeating: 0, count: seq * d * batch * hs)
    for k in 0..<d {
      let (f, g, act) = (r.activations[k][0], r.activations[k][1], r.activations[k][2])
      let xw = x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
        r.multiplyTransposed(xp.baseAddress!, seq * batch, input, wp.baseAddress! + k * 4 * hs * input, 4 * hs)
      } }
      for t in 0..<seq {
        let hr = h.withUnsafeBufferPointer { hp in rw.withUnsafeBufferPointer { rp in
          r.multiplyTransposed(hp.baseAddress! + k * batch * hs, batch, hs, rp.baseAddress! + k * 4 * hs * hs, 4 * hs)
        } }
        for b in 0..<batch where t < lengths[b] {
          let time = r.reverse[k] ? lengths[b] - 1 - t : t
          let st = (k * batch + b) * hs
          for j in 0..<hs {
            func pre(_ gate: Int) -> Float {
              let o = gate * hs + j
              return xw[(time * batch + b) * 4 * hs + o] + hr[b * 4 * hs + o] + bias[k * 8 * hs + o] + bias[k * 8 * hs + 4 * hs + o]
            }
            let cPrev = c[st + j]
            let i = f(r.clipped(pre(0) + peep[k * 3 * hs + j] * cPrev))
            let fg = f(r.clipped(pre(2) + peep[k * 3 * hs + 2 * hs + j] * cPrev))
            let cand = g(r.clipped(pre(3)))
            let cNew = fg * cPrev + i * cand
            let o = f(r.clipped(pre(1) + peep[k * 3 * hs + hs + j] * cNew))
            c[st + j] = cNew
            h[st + j] = o * act(cNew)
            y[((time * d + k) * batch + b) * hs + j] = h[st + j]
          }
        }
      }
    }
    return r.outputs(xv, y: y, states: [h, c], seq: seq, batch: batch)
  }
}
