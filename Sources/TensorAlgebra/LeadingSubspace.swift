import CLAPACK

/// The leading left singular subspace of a matrix.
struct LeadingSubspace {
  /// `[m, r]`, orthonormal columns spanning the leading r left singular vectors (ordered by
  /// decreasing singular value); each column's largest-magnitude entry is positive.
  var vectors: Tensor
  /// The leading r squared singular values σᵢ², non-increasing, in `Double`.
  var squaredSpectrum: [Double]
}

/// An orthonormal basis of the span of the leading `rank` left singular vectors of `a` `[m, n]`.
///
/// - m ≤ n, or rank > n: the top eigenvectors of the `m × m` Gram matrix `a·aᵀ` (these are the
///   singular vectors themselves).
/// - m > n ≥ rank: the top eigenvectors `V_r` of the `n × n` Gram matrix `aᵀ·a`, then
///   `orth(a·V_r)` by Householder QR (`sgeqrf`/`sorgqr`): the same span, which is all Tucker
///   and the CP start need.
///
/// Gram matrices are formed in `Double` (`cblas_dsyrk`) and diagonalised by `LAPACKE_dsyevd`:
/// squaring the condition number in `Double` still resolves σᵢ/σ₁ down to ~1e-7, beyond the
/// Float32 storage, at a fraction of the cost of `sgesdd` on the unfolding.
func leadingSubspace(of a: Tensor, rank: Int) throws -> LeadingSubspace {
  let m = a.shape[0]
  let n = a.shape[1]
  precondition(rank >= 1 && rank <= m)
  if m > n && rank <= n {
    let eigen = try gramEigenvectors(of: a, side: .columns, count: rank)
    var q = try orthonormalBasis(matmul(a, eigen.vectors))
    fixSigns(&q)
    return LeadingSubspace(vectors: q, squaredSpectrum: eigen.values)
  }
  let eigen = try gramEigenvectors(of: a, side: .rows, count: rank)
  var vectors = eigen.vectors
  fixSigns(&vectors)
  return LeadingSubspace(vectors: vectors, squaredSpectrum: eigen.values)
}

/// Which Gram matrix of a row-major `[m, n]` matrix: `rows` is `a·aᵀ` (m × m), `columns` is
/// `aᵀ·a` (n × n).
enum GramSide { case rows, columns }

/// The top `count` eigenpairs of a Gram matrix of `a`, formed and diagonalised in `Double`.
///
/// - Returns: eigenvalues (non-increasing, clamped at 0) and the eigenvectors as the columns of a
///   row-major `[dim, count]` Float tensor, in the same order.
func gramEigenvectors(of a: Tensor, side: GramSide, count: Int) throws -> (values: [Double], vectors: Tensor) {
  try validateFinite(a)
  let m = a.shape[0]
  let n = a.shape[1]
  let dim = side == .rows ? m : n
  let ad = a.scalars.map(Double.init)
  var gram = [Double](repeating: 0, count: dim * dim)
  if m > 0 && n > 0 {
    cblas_dsyrk(
      CblasRowMajor, CblasUpper, side == .rows ? CblasNoTrans : CblasTrans, blasint(dim),
      blasint(side == .rows ? n : m), 1, ad, blasint(n), 0, &gram, blasint(dim))
  }
  return try symmetricEigenvectors(&gram, dim: dim, count: count)
}

/// The top `count` eigenpairs of the symmetric `dim × dim` matrix `matrix` (row-major; only the
/// upper triangle is read), which is overwritten.
///
/// - Returns: eigenvalues (non-increasing, clamped at 0) and the eigenvectors as the columns of a
///   row-major `[dim, count]` Float tensor, in the same order.
func symmetricEigenvectors(_ matrix: inout [Double], dim: Int, count: Int) throws -> (values: [Double], vectors: Tensor) {
  // Row-major upper = column-major lower. All eigenvectors by divide and conquer (dsyevd)
  // measure 2–4× faster than the top-r subset by dsyevr for r ≈ 0.6·dim.
  var eigenvalues = [Double](repeating: 0, count: dim)
  let info = LAPACKE_dsyevd(
    LAPACK_COL_MAJOR, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "L")), LapackInt(dim), &matrix,
    LapackInt(dim), &eigenvalues)
  if info != 0 { throw DecompositionError.lapackFailure(routine: "dsyevd", info: Int(info)) }
  // matrix now holds column-major eigenvectors in ascending order: take the last `count`, reversed.
  var vectors = [Float](repeating: 0, count: dim * count)
  for j in 0..<count {
    let src = dim - 1 - j
    for i in 0..<dim { vectors[i * count + j] = Float(matrix[src * dim + i]) }
  }
  let values = (0..<count).map { max(eigenvalues[dim - 1 - $0], 0) }
  return (values, Tensor(shape: [dim, count], scalars: vectors))
}

/// The Q factor of a Householder QR of `y` `[m, r]` (m ≥ r): orthonormal columns spanning y.
func orthonormalBasis(_ y: Tensor) throws -> Tensor {
  let m = y.shape[0]
  let r = y.shape[1]
  precondition(m >= r)
  var q = y.scalars
  var tau = [Float](repeating: 0, count: max(r, 1))
  var info = LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, LapackInt(m), LapackInt(r), &q, LapackInt(r), &tau)
  if info != 0 { throw DecompositionError.lapackFailure(routine: "sgeqrf", info: Int(info)) }
  info = LAPACKE_sorgqr(LAPACK_ROW_MAJOR, LapackInt(m), LapackInt(r), LapackInt(r), &q, LapackInt(r), &tau)
  if info != 0 { throw DecompositionError.lapackFailure(routine: "sorgqr", info: Int(info)) }
  return Tensor(shape: [m, r], scalars: q)
}

/// Flips each column so that its largest-magnitude entry is positive.
func fixSigns(_ matrix: inout Tensor) {
  let m = matrix.shape[0]
  let r = matrix.shape[1]
  for j in 0..<r {
    var best: Float = 0
    for i in 0..<m where abs(matrix.scalars[i * r + j]) > abs(best) { best = matrix.scalars[i * r + j] }
    if best < 0 { for i in 0..<m { matrix.scalars[i * r + j] = -matrix.scalars[i * r + j] } }
  }
}

/// All min(m, n) squared singular values of the row-major `[m, n]` matrix `a`, non-increasing,
/// from the eigenvalues (`LAPACKE_dsyevd`, values only) of the smaller Gram matrix formed in
/// `Double`.
func squaredSingularValues(of a: Tensor) throws -> [Double] {
  try validateFinite(a)
  let m = a.shape[0]
  let n = a.shape[1]
  let k = min(m, n)
  if k == 0 { return [] }
  let ad = a.scalars.map(Double.init)
  var gram = [Double](repeating: 0, count: k * k)
  // m ≤ n: a·aᵀ (m × m); else aᵀ·a (n × n).
  cblas_dsyrk(
    CblasRowMajor, CblasUpper, m <= n ? CblasNoTrans : CblasTrans, blasint(k),
    blasint(m <= n ? n : m), 1, ad, blasint(n), 0, &gram, blasint(k))
  var values = [Double](repeating: 0, count: k)
  let info = LAPACKE_dsyevd(
    LAPACK_COL_MAJOR, Int8(UInt8(ascii: "N")), Int8(UInt8(ascii: "L")), LapackInt(k), &gram,
    LapackInt(k), &values)
  if info != 0 { throw DecompositionError.lapackFailure(routine: "dsyevd", info: Int(info)) }
  return values.reversed().map { max($0, 0) }
}
