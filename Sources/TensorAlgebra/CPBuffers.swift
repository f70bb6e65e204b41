import CLAPACK

/// The working memory of one CP-ALS run (`cp(_:rank:options:)`), allocated once so that its
/// sweeps allocate nothing: factors `[Iₙ, R]` (Float), their Gram matrices AᵀA `[R, R]` and the
/// normal-equation matrix (Double), the MTTKRP and its scratch, and the solve's copies.
final class CPBuffers {
  let shape: [Int]
  let rank: Int
  let factors: [UnsafeMutablePointer<Float>]
  let grams: [UnsafeMutablePointer<Double>]
  /// The Hadamard product of Gram matrices: the normal-equation matrix, then the model's.
  let hadamard: UnsafeMutablePointer<Double>
  /// The current mode's MTTKRP `[Iₙ, R]`.
  let mttkrp: UnsafeMutablePointer<Float>
  let scratch: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
  /// A factor in Double (Gram), the right-hand sides and the Cholesky factor (solve).
  private let doubles: UnsafeMutablePointer<Double>
  private let cholesky: UnsafeMutablePointer<Double>

  init(shape: [Int], rank r: Int, scratch count: Int) {
    self.shape = shape
    rank = r
    let rows = (shape.max() ?? 1) * r
    factors = shape.map { .allocate(capacity: $0 * r) }
    grams = shape.map { _ in .allocate(capacity: r * r) }
    hadamard = .allocate(capacity: r * r)
    mttkrp = .allocate(capacity: rows)
    scratch = (.allocate(capacity: max(1, count)), .allocate(capacity: max(1, count)))
    doubles = .allocate(capacity: rows)
    cholesky = .allocate(capacity: r * r)
  }

  deinit {
    factors.forEach { $0.deallocate() }
    grams.forEach { $0.deallocate() }
    for p in [hadamard, doubles, cholesky] { p.deallocate() }
    for p in [mttkrp, scratch.0, scratch.1] { p.deallocate() }
  }

  /// Gram matrix n ← AₙᵀAₙ in Double.
  func updateGram(_ n: Int) {
    let (i, r) = (shape[n], rank)
    let a = factors[n]
    for e in 0..<(i * r) { doubles[e] = Double(a[e]) }
    dgemm(transposeA: true, transposeB: false, m: r, n: r, k: i, a: doubles, lda: r, b: doubles, ldb: r, c: grams[n], ldc: r)
  }

  /// `x ← MTTKRP · V⁻¹` for `V = hadamard` (symmetric positive semi-definite `[R, R]`) and the
  /// `[rows, R]` MTTKRP, by Cholesky (`dposv`), or by the eigenvalue pseudo-inverse (`dsyevd`,
  /// cut at 1e-12·λmax) when V is singular.
  func solveSymmetric(rows: Int, into x: UnsafeMutablePointer<Float>) throws {
    let r = rank
    // Column-major B is R × rows with leading dimension R: exactly the row-major [rows, R] buffer.
    for e in 0..<(rows * r) { doubles[e] = Double(mttkrp[e]) }
    cholesky.update(from: hadamard, count: r * r)
    // What LAPACKE_dposv does: its NaN scan (the lower triangle, the right-hand sides), then its
    // worker; without its per-element calls, as this solve runs every mode of every sweep.
    // (LAPACKE numbers the arguments from matrix_layout: a is the 5th, b the 7th.)
    for col in 0..<r { for row in col..<r where cholesky[col * r + row].isNaN { throw DecompositionError.lapackFailure(routine: "dposv", info: -5) } }
    for e in 0..<(rows * r) where doubles[e].isNaN { throw DecompositionError.lapackFailure(routine: "dposv", info: -7) }
    let info = LAPACKE_dposv_work(
      LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), LapackInt(r), LapackInt(rows), cholesky, LapackInt(r), doubles, LapackInt(r))
    if info == 0 {
      for e in 0..<(rows * r) { x[e] = Float(doubles[e]) }
      return
    }
    if info < 0 { throw DecompositionError.lapackFailure(routine: "dposv", info: Int(info)) }
    let solved = try pseudoInverseSolve(
      Array(UnsafeBufferPointer(start: hadamard, count: r * r)), rank: r,
      rightHandSides: Array(UnsafeBufferPointer(start: mttkrp, count: rows * r)), rows: rows)
    for e in 0..<(rows * r) { x[e] = solved[e] }
  }

  /// The factors as tensors.
  func tensors() -> [Tensor] {
    shape.indices.map { n in
      Tensor(shape: [shape[n], rank], scalars: Array(UnsafeBufferPointer(start: factors[n], count: shape[n] * rank)))
    }
  }
}

/// X = B · V⁺ for singular symmetric `v` `[R, R]` and `b` `[rows, R]`: the eigenvalue
/// pseudo-inverse (`dsyevd`), eigenvalues below 1e-12·λmax dropped.
private func pseudoInverseSolve(_ v: [Double], rank r: Int, rightHandSides b: [Float], rows: Int) throws -> [Float] {
  var q = v
  var w = [Double](repeating: 0, count: r)
  let e = LAPACKE_dsyevd(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "L")), LapackInt(r), &q, LapackInt(r), &w)
  if e != 0 { throw DecompositionError.lapackFailure(routine: "dsyevd", info: Int(e)) }
  let cut = 1e-12 * (w.max() ?? 0)
  // pinv = Q diag(1/w) Qᵀ (q column-major: column j at q[j·r ..< (j+1)·r]).
  var pinv = [Double](repeating: 0, count: r * r)
  for j in 0..<r where w[j] > cut {
    let inv = 1 / w[j]
    for p in 0..<r { for s in 0..<r { pinv[p * r + s] += q[j * r + p] * inv * q[j * r + s] } }
  }
  let bd = b.map(Double.init)
  var out = [Double](repeating: 0, count: rows * r)
  bd.withUnsafeBufferPointer { pb in
    pinv.withUnsafeBufferPointer { pp in
      out.withUnsafeMutableBufferPointer { po in
        dgemm(transposeA: false, transposeB: false, m: rows, n: r, k: r, a: pb.baseAddress!, lda: r, b: pp.baseAddress!, ldb: r, c: po.baseAddress!, ldc: r)
      }
    }
  }
  return out.map(Float.init)
}
