import CLAPACK

/// Gemm: Y = alpha · A' · B' + beta · C, A' and B' optionally transposed, C broadcast to [M, N].
struct Gemm: Operator {
  let alpha: Float
  let beta: Float
  let transA: Bool
  let transB: Bool

  static func build(_ b: OpBuilder) throws -> Operator {
    if b.opset < 7, b.has("broadcast") { _ = try b.int("broadcast", default: 0) }
    return Gemm(
      alpha: try b.float("alpha", default: 1), beta: try b.float("beta", default: 1),
      transA: try b.int("transA", default: 0) != 0, transB: try b.int("transB", default: 0) != 0)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let av = try inputs.required(0), bv = try inputs.required(1)
    let a = try av.requireFloats("A"), b = try bv.requireFloats("B")
    guard av.shape.count == 2, bv.shape.count == 2 else { throw OpFailure("A \(av.shape) and B \(bv.shape) must be 2-D") }
    let m = transA ? av.shape[1] : av.shape[0], k = transA ? av.shape[0] : av.shape[1]
    let kb = transB ? bv.shape[1] : bv.shape[0], n = transB ? bv.shape[0] : bv.shape[1]
    guard k == kb else { throw OpFailure("A' is \(m)×\(k) but B' is \(kb)×\(n)") }
    var y: [Float]
    if let cv = inputs.optional(2), beta != 0 {
      let c = try cv.requireFloats("C")
      guard (try? Broadcast.shape(cv.shape, [m, n])) == [m, n] else { throw OpFailure("C \(cv.shape) does not broadcast to [\(m), \(n)]") }
      y = Broadcast.expand(c, cv.shape, to: [m, n])
    } else {
      y = [Float](repeating: 0, count: m * n)
    }
    let betaUsed: Float = inputs.optional(2) == nil ? 0 : beta
    if m > 0 && n > 0 && k > 0 {
      a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
          y.withUnsafeMutableBufferPointer { yp in
            RowBlocks.gemm(
              transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!, lda: av.shape[1],
              b: bp.baseAddress!, ldb: bv.shape[1], beta: betaUsed, c: yp.baseAddress!, ldc: n, threads: context.threads)
          }
        }
      }
    }
    if k == 0 { y = y.map { $0 * betaUsed } }
    return [av.with(shape: [m, n], storage: .floats(y))]
  }
}
