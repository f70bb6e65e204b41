/// GRU (opset 7/14), gates in ONNX order z, r, h:
/// z = f(X_z + H_z), r = f(X_r + H_r), h̃ = g(X_h + (r⊙H₋)·R_hᵀ + Rb_h) (or, with
/// linear_before_reset, g(X_h + r⊙(H₋·R_hᵀ + Rb_h))), H = (1 − z)⊙h̃ + z⊙H₋.
struct GRU: Operator {
  let recurrence: Recurrence
  let linearBeforeReset: Bool

  static func build(_ b: OpBuilder) throws -> Operator {
    GRU(recurrence: try Recurrence(b, defaults: ["Sigmoid", "Tanh"]), linearBeforeReset: try b.int("linear_before_reset", default: 0) != 0)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let r = recurrence, hs = r.hidden, d = r.directions
    let xv = try inputs.required(0)
    let (x, seq, batch, input) = try r.timeMajor(xv)
    let w = try inputs.required(1).requireFloats("W"), rw = try inputs.required(2).requireFloats("R")
    guard w.count == d * 3 * hs * input, rw.count == d * 3 * hs * hs else { throw OpFailure("W or R does not match hidden_size \(hs) and \(d) direction(s)") }
    let bias = try inputs.optional(3)?.requireFloats("B") ?? [Float](repeating: 0, count: d * 6 * hs)
    guard bias.count == d * 6 * hs else { throw OpFailure("B does not match hidden_size \(hs)") }
    let lengths = try r.lengths(inputs.optional(4), seq: seq, batch: batch)
    var h = try r.state(inputs.optional(5), batch: batch)
    var y = [Float](repeating: 0, count: seq * d * batch * hs)
    for k in 0..<d {
      let (f, g) = (r.activations[k][0], r.activations[k][1])
      let wb = k * 6 * hs, rb = wb + 3 * hs
      let xw = x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
        r.multiplyTransposed(xp.baseAddress!, seq * batch, input, wp.baseAddress! + k * 3 * hs * input, 3 * hs)
      } }
      for t in 0..<seq {
        let hk = Array(h[(k * batch * hs)..<((k + 1) * batch * hs)])
        let hr = hk.withUnsafeBufferPointer { hp in rw.withUnsafeBufferPointer { rp in
          r.multiplyTransposed(hp.baseAddress!, batch, hs, rp.baseAddress! + k * 3 * hs * hs, 3 * hs)
        } }
        var z = [Float](repeating: 0, count: batch * hs), reset = z
        for b in 0..<batch where t < lengths[b] {
          let time = r.reverse[k] ? lengths[b] - 1 - t : t
          for j in 0..<hs {
            let xo = (time * batch + b) * 3 * hs
            z[b * hs + j] = f(r.clipped(xw[xo + j] + hr[b * 3 * hs + j] + bias[wb + j] + bias[rb + j]))
            reset[b * hs + j] = f(r.clipped(xw[xo + hs + j] + hr[b * 3 * hs + hs + j] + bias[wb + hs + j] + bias[rb + hs + j]))
          }
        }
        // (r ⊙ H₋)·R_hᵀ for the default form.
        var gated = hk
        for i in gated.indices { gated[i] *= reset[i] }
        let rh = linearBeforeReset ? [] : gated.withUnsafeBufferPointer { gp in rw.withUnsafeBufferPointer { rp in
          r.multiplyTransposed(gp.baseAddress!, batch, hs, rp.baseAddress! + k * 3 * hs * hs + 2 * hs * hs, hs)
        } }
        for b in 0..<batch where t < lengths[b] {
          let time = r.reverse[k] ? lengths[b] - 1 - t : t
          for j in 0..<hs {
            let xo = (time * batch + b) * 3 * hs
            let recurrent = linearBeforeReset
              ? reset[b * hs + j] * (hr[b * 3 * hs + 2 * hs + j] + bias[rb + 2 * hs + j])
              : rh[b * hs + j] + bias[rb + 2 * hs + j]
            let cand = g(r.clipped(xw[xo + 2 * hs + j] + bias[wb + 2 * hs + j] + recurrent))
            let zz = z[b * hs + j], at = (k * batch + b) * hs + j
            h[at] = (1 - zz) * cand + zz * hk[b * hs + j]
            y[((time * d + k) * batch + b) * hs + j] = h[at]
          }
        }
      }
    }
    return r.outputs(xv, y: y, states: [h], seq: seq, batch: batch)
  }
}
