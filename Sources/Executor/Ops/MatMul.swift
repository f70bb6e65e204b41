/// MatMul with numpy semantics: 1-D operands are promoted (and the added axis removed from
/// the result), leading batch axes broadcast, one sgemm per batch entry.
struct MatMul: Operator {
  static func build(_ b: OpBuilder) throws -> Operator { MatMul() }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let av = try inputs.required(0), bv = try inputs.required(1)
    let a = try av.requireFloats("A"), b = try bv.requireFloats("B")
    guard !av.shape.isEmpty, !bv.shape.isEmpty else { throw OpFailure("MatMul inputs must have at least one axis") }
    let sa = av.shape.count == 1 ? [1, av.shape[0]] : av.shape
    let sb = bv.shape.count == 1 ? [bv.shape[0], 1] : bv.shape
    let m = sa[sa.count - 2], k = sa[sa.count - 1], kb = sb[sb.count - 2], n = sb[sb.count - 1]
    guard k == kb else { throw OpFailure("A \(av.shape) and B \(bv.shape) have inner sizes \(k) and \(kb)") }
    let batchA = Array(sa.dropLast(2)), batchB = Array(sb.dropLast(2))
    let batch = try Broadcast.shape(batchA, batchB)
    let count = batch.reduce(1, *)
    // Offsets of each batch entry's matrix in A and B (broadcast axes repeat).
    let indexA = Broadcast.expand(Array(0..<batchA.reduce(1, *)), batchA, to: batch)
    let indexB = Broadcast.expand(Array(0..<batchB.reduce(1, *)), batchB, to: batch)
    var y = [Float](repeating: 0, count: count * m * n)
    if m > 0 && n > 0 && k > 0 {
      a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
          y.withUnsafeMutableBufferPointer { yp in
            for i in 0..<count {
              RowBlocks.gemm(
                transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ap.baseAddress! + indexA[i] * m * k, lda: k,
                b: bp.baseAddress! + indexB[i] * k * n, ldb: n, beta: 0, c: yp.baseAddress! + i * m * n, ldc: n,
                threads: context.threads)
            }
          }
        }
      }
    }
    var shape = batch
    if av.shape.count > 1 { shape.append(m) }
    if bv.shape.count > 1 { shape.append(n) }
    return [av.with(shape: shape, storage: .floats(y))]
  }
}
