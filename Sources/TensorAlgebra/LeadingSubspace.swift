import CLAPACK

/// The leading left singular subspace of a matrix and its full squared spectrum.
struct LeadingSubspace {
  /// `[m, r]`, orthonormal columns, ordered by decreasing singular value; each column's
  /// largest-magnitude entry is positive (a deterministic sign).
  var vectors: Tensor
  /// Squared singular values σᵢ², non-increasing, in `Double`: at least the leading `rank`.
  var squaredSpectrum: [Double]
}

/// The leading `rank` left singular vectors of the row-major `[m, n]` matrix `a`.
///
/// Wide or square matrices (m ≤ n), and requests for more vectors than min(m, n), go through
/// the `m × m` Gram matrix `a·aᵀ` formed in `Double` (`cblas_dsyrk`) and its top eigenvectors
/// (`LAPACKE_dsyevd`); tall matrices go through `sgesdd`. The Gram matrix squares the condition
/// number, but in `Double` it still resolves σᵢ/σ₁ down to ~1e-7, beyond Float32 storage.
func leadingSubspace(of a: Tensor, rank: Int) throws -> LeadingSubspace {
  let m = a.shape[0]
  let n = a.shape[1]
  precondition(rank >= 1 && rank <= m)
  if m > n && rank <= n {
    let svd = try singularValueDecomposition(a)
    var vectors = [Float](repeating: 0, count: m * rank)
    for i in 0..<m {
      for j in 0..<rank { vectors[i * rank + j] = svd.u.scalars[i * n + j] }
    }
    var result = LeadingSubspace(
      vectors: Tensor(shape: [m, rank], scalars: vectors),
      squaredSpectrum: svd.singularValues.map { Double($0) * Double($0) })
    fixSigns(&result.vectors)
    return result
  }
  try validateFinite(a)
  let ad = a.scalars.map(Double.init)
  var gram = [Double](repeating: 0, count: m * m)
  if n > 0 {
    cblas_dsyrk(
      CblasRowMajor, CblasUpper, CblasNoTrans, blasint(m), blasint(n), 1, ad, blasint(n), 0,
      &gram, blasint(m))
  }
  // Row-major upper = column-major lower for a symmetric matrix. All eigenvectors by divide and
  // conquer (dsyevd) measure 2–4× faster than the top-r subset by dsyevr for r ≈ 0.6·m.
  var eigenvalues = [Double](repeating: 0, count: m)
  let info = LAPACKE_dsyevd(
    LAPACK_COL_MAJOR, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "L")), LapackInt(m), &gram,
    LapackInt(m), &eigenvalues)
  if info != 0 { throw DecompositionError.lapackFailure(routine: "dsyevd", info: Int(info)) }
  let z = gram
  let all = Array(eigenvalues[(m - rank)..<m])
  // z is column-major m × m, ascending: the last `rank` columns reversed, as row-major [m, rank].
  var vectors = [Float](repeating: 0, count: m * rank)
  for j in 0..<rank {
    let src = m - 1 - j
    for i in 0..<m { vectors[i * rank + j] = Float(z[src * m + i]) }
  }
  var result = LeadingSubspace(
    vectors: Tensor(shape: [m, rank], scalars: vectors),
    squaredSpectrum: all.reversed().map { max($0, 0) })
  fixSigns(&result.vectors)
  return result
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
