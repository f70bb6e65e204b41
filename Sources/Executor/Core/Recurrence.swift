import CLAPACK

/// What RNN, GRU and LSTM share: attributes (hidden_size, direction, layout, clip,
/// activations), the input projection X·Wᵀ for all time steps at once (one sgemm), the
/// per-step recurrent product H·Rᵀ, sequence_lens (steps past a sequence's length leave the
/// state unchanged and write zeros to Y) and the output layouts.
struct Recurrence: Sendable {
  let hidden: Int
  /// One entry per direction: whether it walks time backwards.
  let reverse: [Bool]
  let batchMajor: Bool
  let clip: Float?
  /// `functionsPerDirection` activations for each direction, in order.
  let activations: [[Activation]]

  init(_ b: OpBuilder, defaults: [String]) throws {
    hidden = try b.int("hidden_size", default: 0)
    guard hidden > 0 else { throw b.invalid("hidden_size is required and must be positive") }
    let direction = try b.choice("direction", default: "forward", allowed: ["forward", "reverse", "bidirectional"])
    reverse = direction == "bidirectional" ? [false, true] : [direction == "reverse"]
    batchMajor = try b.int("layout", default: 0) == 1
    clip = b.has("clip") ? try b.float("clip", default: 0) : nil
    let names = b.strings("activations") ?? Array((0..<reverse.count).map { _ in defaults }.joined())
    guard names.count == defaults.count * reverse.count else {
      throw b.invalid("activations has \(names.count) names; \(defaults.count * reverse.count) needed")
    }
    let all: [Activation]
    do { all = try Activation.parse(names, alphas: try b.floats("activation_alpha") ?? [], betas: try b.floats("activation_beta") ?? []) } catch let f as OpFailure {
      throw b.unsupported(f.detail)
    }
    activations = (0..<reverse.count).map { Array(all[($0 * defaults.count)..<(($0 + 1) * defaults.count)]) }
  }

  var directions: Int { reverse.count }

  func clipped(_ x: Float) -> Float { clip.map { min(max(x, -$0), $0) } ?? x }

  /// X as time-major [seq, batch, input] values.
  func timeMajor(_ xv: TensorValue) throws -> (x: [Float], seq: Int, batch: Int, input: Int) {
    let x = try xv.requireFloats("X")
    guard xv.shape.count == 3 else { throw OpFailure("X \(xv.shape) must have 3 axes") }
    if !batchMajor { return (x, xv.shape[0], xv.shape[1], xv.shape[2]) }
    let (b, s, i) = (xv.shape[0], xv.shape[1], xv.shape[2])
    var t = [Float](repeating: 0, count: x.count)
    for bb in 0..<b { for ss in 0..<s { for ii in 0..<i { t[(ss * b + bb) * i + ii] = x[(bb * s + ss) * i + ii] } } }
    return (t, s, b, i)
  }

  /// An optional [directions, batch, hidden] state input (batch-major [batch, directions,
  /// hidden] with layout 1), as time-major values; zeros when absent.
  func state(_ v: TensorValue?, batch: Int) throws -> [Float] {
    let n = directions * batch * hidden
    guard let v else { return [Float](repeating: 0, count: n) }
    let s = try v.requireFloats("initial state")
    guard s.count == n else { throw OpFailure("an initial state has \(s.count) values; \(n) needed") }
    return batchMajor ? swapLeadingAxes(s, batch, directions, hidden) : s
  }

  /// Per batch entry, the number of valid steps.
  func lengths(_ v: TensorValue?, seq: Int, batch: Int) throws -> [Int] {
    guard let v else { return [Int](repeating: seq, count: batch) }
    let l = try v.requireInts("sequence_lens")
    guard l.count == batch, l.allSatisfy({ $0 >= 0 && $0 <= seq }) else { throw OpFailure("sequence_lens \(l) must hold \(batch) values in 0...\(seq)") }
    return l
  }

  /// C[m, n] = A[m, k] · B[n, k]ᵀ.
  func multiplyTransposed(_ a: UnsafePointer<Float>, _ m: Int, _ k: Int, _ b: UnsafePointer<Float>, _ n: Int) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    if m > 0 && n > 0 && k > 0 {
      c.withUnsafeMutableBufferPointer { cp in
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(k), 0, cp.baseAddress!, Int32(n))
      }
    }
    return c
  }

  /// Y [seq, directions, batch, hidden] and the final states [directions, batch, hidden], in
  /// the node's layout.
  func outputs(_ like: TensorValue, y: [Float], states: [[Float]], seq: Int, batch: Int) -> [TensorValue] {
    let d = directions
    var result: [TensorValue] = []
    if batchMajor {
      // [seq, d, batch, h] → [batch, seq, d, h]
      var t = [Float](repeating: 0, count: y.count)
      for s in 0..<seq { for k in 0..<d { for b in 0..<batch { for h in 0..<hidden {
        t[((b * seq + s) * d + k) * hidden + h] = y[((s * d + k) * batch + b) * hidden + h]
      } } } }
      result.append(like.with(shape: [batch, seq, d, hidden], storage: .floats(t)))
      for s in states { result.append(like.with(shape: [batch, d, hidden], storage: .floats(swapLeadingAxes(s, d, batch, hidden)))) }
    } else {
      result.append(like.with(shape: [seq, d, batch, hidden], storage: .floats(y)))
      for s in states { result.append(like.with(shape: [d, batch, hidden], storage: .floats(s))) }
    }
    return result
  }

  private func swapLeadingAxes(_ v: [Float], _ a: Int, _ b: Int, _ c: Int) -> [Float] {
    var t = [Float](repeating: 0, count: v.count)
    for i in 0..<a { for j in 0..<b { for k in 0..<c { t[(j * a + i) * c + k] = v[(i * b + j) * c + k] } } }
    return t
  }
}
