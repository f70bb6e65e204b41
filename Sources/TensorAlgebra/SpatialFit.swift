import CLAPACK

/// A spatially separable fit with its relative error.
public struct SpatialFit: Sendable {
  public var factors: SpatialFactors
  /// ‖W − Ŵ‖F / ‖W‖F.
  public var relativeError: Double
  /// Every singular value of the `[(c, i), (o, j)]` unfolding (weight fits; empty otherwise).
  public var singularValues: [Float]
}

/// The kernel `[M, C, kh, kw]` unfolded as `[(c, i), (o, j)]`, whose rank is the separable rank.
public func spatialUnfolding(_ kernel: Tensor) -> Tensor {
  precondition(kernel.shape.count == 4)
  let (m, c, kh, kw) = (kernel.shape[0], kernel.shape[1], kernel.shape[2], kernel.shape[3])
  return kernel.transposed([1, 2, 0, 3]).reshaped([c * kh, m * kw])
}

/// The best rank-r spatially separable approximation of a 2-D conv kernel in Frobenius norm
/// (Eckart–Young on `spatialUnfolding`).
/// - Throws: `DecompositionError` for a kernel that is not 4-D, a rank outside
///   `1...min(C·kh, M·kw)`, non-finite entries or a LAPACK failure.
public func spatialSVD(_ kernel: Tensor, rank: Int) throws -> SpatialFit {
  guard kernel.shape.count == 4 else { throw DecompositionError.orderTooLow(order: kernel.shape.count, minimum: 4) }
  let (m, c, kh, kw) = (kernel.shape[0], kernel.shape[1], kernel.shape[2], kernel.shape[3])
  let fit = try lowRankSVD(spatialUnfolding(kernel), rank: rank)
  // left [(c,i), r] (σ folded) → V [r, C, kh]; right [r, (o,j)] → H [M, r, kw].
  let vertical = fit.factors.left.transposed([1, 0]).reshaped([rank, c, kh])
  let horizontal = fit.factors.right.reshaped([rank, m, kw]).transposed([1, 0, 2])
  return SpatialFit(
    factors: SpatialFactors(vertical: vertical, horizontal: horizontal), relativeError: fit.relativeError,
    singularValues: fit.singularValues)
}

/// Refits the horizontal factor of `factors` to the layer's responses: with the vertical factor
/// V fixed, H minimises E‖(W − Ŵ)(x − μ)‖² over the layer's input patches x, whose covariance
/// `Gx` (D × D, D = C·kh·kw in (c, i, j) order) and mean are given. The chain's response is
/// linear in H through the lifted matrix Ṽ[(r, j), (c, i, j′)] = V[r, c, i]·δ(j, j′), so
/// H solves (Ṽ Gx Ṽᵀ + λI) Hᵀ = Ṽ Gx Wᵀ, a (r·kw)-square system with M right-hand sides.
///
/// - Returns: the refitted factors, the bias `b + (W − Ŵ)·μ` that restores the mean response,
///   and the relative response error √(tr(E Gx Eᵀ) / tr(W Gx Wᵀ)), E = W − Ŵ (0 when the
///   responses do not vary).
/// - Throws: `DecompositionError` for non-finite statistics or a LAPACK failure; the fit is
///   returned unchanged (with its response error) when the system is singular.
public func spatialResponseRefit(
  _ factors: SpatialFactors, kernel: Tensor, covariance: [Double], mean: [Double], bias: [Float], ridge: Double = 1e-6
) throws -> (factors: SpatialFactors, bias: [Float], responseError: Double) {
  try spatialResponseRefit(factors, kernel: kernel, covariance: covariance, mean: mean, bias: bias, ridge: ridge, precomputed: nil)
}

/// tr(W Gx Wᵀ) from W `[M, D]` and Gx Wᵀ `[D, M]`: the layer's total response variance.
private func responseEnergy(_ w: [Double], _ gw: [Double], m: Int, d: Int) -> Double {
  var total = 0.0
  for o in 0..<m { for k in 0..<d { total += w[o * d + k] * gw[k * m + o] } }
  return total
}

/// `spatialResponseRefit` with Gx Wᵀ and tr(W Gx Wᵀ), which do not depend on the rank, given
/// (`spatialResponseCurve` computes them once for all its ranks).
private func spatialResponseRefit(
  _ factors: SpatialFactors, kernel: Tensor, covariance: [Double], mean: [Double], bias: [Float], ridge: Double,
  precomputed: (gw: [Double], total: Double)?
) throws -> (factors: SpatialFactors, bias: [Float], responseError: Double) {
  let (m, c, kh, kw) = (kernel.shape[0], kernel.shape[1], kernel.shape[2], kernel.shape[3])
  let d = c * kh * kw, r = factors.rank, n = r * kw
  precondition(covariance.count == d * d && mean.count == d && bias.count == m)
  let bad = covariance.filter { !$0.isFinite }.count + mean.filter { !$0.isFinite }.count
  if bad > 0 { throw DecompositionError.nonFiniteEntries(count: bad, total: covariance.count + mean.count) }
  try validateFinite(kernel)
  let w = kernel.scalars.map(Double.init)  // [M, D]
  var lifted = [Double](repeating: 0, count: n * d)  // Ṽ [(r, j), (c, i, j′)]
  for q in 0..<r {
    for ci in 0..<(c * kh) {
      let v = Double(factors.vertical.scalars[q * c * kh + ci])
      for j in 0..<kw { lifted[(q * kw + j) * d + ci * kw + j] = v }
    }
  }
  let gv = gemm(covariance, lifted, m: d, n: n, k: d, transposeB: true)  // Gx Ṽᵀ [D, n]
  var normal = gemm(lifted, gv, m: n, n: n, k: d)  // Ṽ Gx Ṽᵀ [n, n]
  let gw = precomputed?.gw ?? gemm(covariance, w, m: d, n: m, k: d, transposeB: true)  // Gx Wᵀ [D, M]
  var rhs = gemm(lifted, gw, m: n, n: m, k: d)  // Ṽ Gx Wᵀ [n, M]
  let lambda = ridge * max((0..<n).reduce(0.0) { $0 + normal[$1 * n + $1] } / Double(n), .leastNormalMagnitude)
  for i in 0..<n { normal[i * n + i] += lambda }
  let info = LAPACKE_dposv(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "U")), LapackInt(n), LapackInt(m), &normal, LapackInt(n), &rhs, LapackInt(m))
  if info < 0 { throw DecompositionError.lapackFailure(routine: "dposv", info: Int(info)) }
  var refitted = factors
  if info == 0, rhs.allSatisfy(\.isFinite) {
    var h = [Float](repeating: 0, count: m * n)  // [M, r, kw] from Hᵀ [(r, j), M]
    for q in 0..<n { for o in 0..<m { h[o * n + q] = Float(rhs[q * m + o]) } }
    refitted.horizontal = Tensor(shape: [m, r, kw], scalars: h)
  }
  let e = zip(w, refitted.reconstruct().scalars).map { $0 - Double($1) }  // [M, D]
  let ge = gemm(e, covariance, m: m, n: d, k: d)
  let residual = zip(ge, e).reduce(0.0) { $0 + $1.0 * $1.1 }
  let total = precomputed?.total ?? responseEnergy(w, gw, m: m, d: d)
  var newBias = bias
  for o in 0..<m {
    var s = 0.0
    for k in 0..<d { s += e[o * d + k] * mean[k] }
    newBias[o] = Float(Double(bias[o]) + s)
  }
  let error = total > 0 ? (max(residual, 0) / total).squareRoot() : 0
  return (refitted, newBias, error)
}

/// Row-major `op(a) · op(b)` in `Double`.
private func gemm(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int, transposeB: Bool = false) -> [Double] {
  var c = [Double](repeating: 0, count: m * n)
  guard m > 0, n > 0, k > 0 else { return c }
  cblas_dgemm(
    CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, blasint(m), blasint(n), blasint(k), 1, a, blasint(k),
    b, blasint(transposeB ? k : n), 0, &c, blasint(n))
  return c
}

/// The relative response error (`spatialResponseRefit`) of the response-refitted spatial fit at
/// each of `ranks`, from one SVD of the kernel: d(r) for the calibrated allocation.
/// - Throws: as `spatialSVD` and `spatialResponseRefit`.
/// - Complexity: one SVD and one D²·M product, then O(r·k2·D²) per rank (D = C·k1·k2).
public func spatialResponseCurve(_ kernel: Tensor, covariance: [Double], mean: [Double], ranks: [Int]) throws -> [Int: Double] {
  guard let top = ranks.max() else { return [:] }
  let start = try spatialSVD(kernel, rank: top).factors
  let (m, d) = (kernel.shape[0], kernel.count / kernel.shape[0])
  precondition(covariance.count == d * d)
  let w = kernel.scalars.map(Double.init)
  let gw = gemm(covariance, w, m: d, n: m, k: d, transposeB: true)
  let shared = (gw: gw, total: responseEnergy(w, gw, m: m, d: d))
  let zeros = [Float](repeating: 0, count: m)
  var curve: [Int: Double] = [:]
  for r in ranks {
    curve[r] = try spatialResponseRefit(
      start.truncated(to: r), kernel: kernel, covariance: covariance, mean: mean, bias: zeros, ridge: 1e-6, precomputed: shared
    ).responseError
  }
  return curve
}
