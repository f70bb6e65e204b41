/// Response PCA (Zhang, Zou, He, Sun, "Accelerating Very Deep Convolutional Networks for
/// Classification and Detection", TPAMI 2016): the rank-r factors of a layer `y = W·x` that
/// best reproduce its responses on the data, not its weights.
///
/// With `S = Cov(y)` (M × M) over the data and `U_r` its top-r eigenvectors, the projection
/// `P = U_r U_rᵀ` minimises `E‖(y − μ) − P(y − μ)‖²` over rank-r projections; the layer becomes
/// `ŷ = P·W·x + b′` with `left = U_r` `[M, r]`, `right = U_rᵀ·W` `[r, K]`, and the bias
/// `b′ = P·b + (I − P)·μ` (`responseBias`), which restores the mean of the discarded part.
///
/// - Parameters:
///   - w: the layer's weight unfolded as `[M, K]`.
///   - covariance: `Cov(y)`, row-major `M × M` (symmetric; the upper triangle is read).
///   - rank: 1 ≤ r ≤ M.
/// - Returns: the factors (`left` has orthonormal columns) and the response error
///   √(discarded variance / total variance), 0 when the responses do not vary.
/// - Throws: `DecompositionError` when the eigensolver fails or the inputs are not finite.
public func responsePCA(_ w: Tensor, covariance: [Double], rank: Int) throws -> (factors: SVDFactors, responseError: Double) {
  precondition(w.shape.count == 2, "responsePCA: W must be [M, K]")
  let m = w.shape[0]
  precondition(covariance.count == m * m && rank >= 1 && rank <= m, "responsePCA: bad covariance or rank")
  let bad = covariance.filter { !$0.isFinite }.count
  if bad > 0 { throw DecompositionError.nonFiniteEntries(count: bad, total: covariance.count) }
  try validateFinite(w)
  var s = covariance
  let total = (0..<m).reduce(0.0) { $0 + max(covariance[$1 * m + $1], 0) }
  var (values, u) = try symmetricEigenvectors(&s, dim: m, count: rank)
  fixSigns(&u)
  let kept = values.reduce(0, +)
  let error = total > 0 ? (max(total - kept, 0) / total).squareRoot() : 0
  return (SVDFactors(left: u, right: matmul(u.transposed([1, 0]), w)), error)
}

/// The bias `b′ = P·b + (I − P)·μ` of a response-PCA layer, with `P = left·leftᵀ` (`left` has
/// orthonormal columns), `b` the original bias and `μ` the mean response (bias included).
public func responseBias(left: Tensor, bias: [Float], mean: [Double]) -> [Float] {
  let m = left.shape[0]
  let r = left.shape[1]
  precondition(bias.count == m && mean.count == m)
  // b′ = μ + P(b − μ)
  let d = (0..<m).map { Double(bias[$0]) - mean[$0] }
  var coefficients = [Double](repeating: 0, count: r)
  for i in 0..<m {
    for j in 0..<r { coefficients[j] += Double(left.scalars[i * r + j]) * d[i] }
  }
  return (0..<m).map { i in
    var p = 0.0
    for j in 0..<r { p += Double(left.scalars[i * r + j]) * coefficients[j] }
    return Float(mean[i] + p)
  }
}
