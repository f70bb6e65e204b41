import CLAPACK

/// The response error of response PCA at every rank: `d(r) = √(Σ_{j>r} λ_j / Σ_j λ_j)` for
/// r = 0…M, with λ the eigenvalues of the output covariance `S = Cov(y)` (centred; negative
/// round-off clamped at 0).
///
/// With the bias `b′ = P·b + (I − P)·μ` (`responseBias`) the rank-r layer reproduces the mean
/// response exactly, so its squared error on the data is `tr((I − P)·S) = Σ_{j>r} λ_j`: d(r) is
/// the layer's output error at rank r relative to the spread of its outputs, the same number
/// `responsePCA` returns as `responseError` at that rank. d is non-increasing, d(M) = 0, and
/// d ≡ 0 when the responses do not vary.
///
/// - Parameters:
///   - covariance: `Cov(y)`, row-major `dim × dim` (symmetric; the upper triangle is read).
///   - dim: M ≥ 1.
/// - Returns: M + 1 values, d(0) … d(M).
/// - Throws: `DecompositionError` when the eigensolver fails or the covariance is not finite.
public func responseCurve(covariance: [Double], dim: Int) throws -> [Double] {
  precondition(dim >= 1 && covariance.count == dim * dim, "responseCurve: bad covariance")
  let bad = covariance.filter { !$0.isFinite }.count
  if bad > 0 { throw DecompositionError.nonFiniteEntries(count: bad, total: covariance.count) }
  var s = covariance
  var values = [Double](repeating: 0, count: dim)
  // Eigenvalues only; row-major upper = column-major lower.
  let info = LAPACKE_dsyevd(
    LAPACK_COL_MAJOR, Int8(UInt8(ascii: "N")), Int8(UInt8(ascii: "L")), LapackInt(dim), &s, LapackInt(dim), &values)
  if info != 0 { throw DecompositionError.lapackFailure(routine: "dsyevd", info: Int(info)) }
  // Ascending from LAPACK; the tail sums from the smallest up are the discarded variances.
  let descending = values.reversed().map { max($0, 0) }
  let total = descending.reduce(0, +)
  guard total > 0 else { return Array(repeating: 0, count: dim + 1) }
  var curve = [Double](repeating: 0, count: dim + 1)
  var discarded = 0.0
  for r in stride(from: dim - 1, through: 0, by: -1) {
    discarded += descending[r]
    curve[r] = (min(discarded, total) / total).squareRoot()
  }
  return curve
}
