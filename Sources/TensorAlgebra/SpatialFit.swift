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
  let gw = precomputed?.gw ?? LastFactorRefit.gemm(covariance, w, m: d, n: m, k: d, transposeB: true)  // Gx Wᵀ [D, M]
  var refitted = factors
  if let rhs = try LastFactorRefit.solve(prefix: lifted, n: n, covariance: covariance, gw: gw, m: m, d: d, ridge: ridge) {
    var h = [Float](repeating: 0, count: m * n)  // [M, r, kw] from Hᵀ [(r, j), M]
    for q in 0..<n { for o in 0..<m { h[o * n + q] = Float(rhs[q * m + o]) } }
    refitted.horizontal = Tensor(shape: [m, r, kw], scalars: h)
  }
  let total = precomputed?.total ?? LastFactorRefit.responseEnergy(w, gw, m: m, d: d)
  let (newBias, error) = LastFactorRefit.finish(
    kernel: w, approximation: refitted.reconstruct().scalars, covariance: covariance, mean: mean, bias: bias, total: total, m: m, d: d)
  return (refitted, newBias, error)
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
  let gw = LastFactorRefit.gemm(covariance, w, m: d, n: m, k: d, transposeB: true)
  let shared = (gw: gw, total: LastFactorRefit.responseEnergy(w, gw, m: m, d: d))
  let zeros = [Float](repeating: 0, count: m)
  var curve: [Int: Double] = [:]
  for r in ranks {
    curve[r] = try spatialResponseRefit(
      start.truncated(to: r), kernel: kernel, covariance: covariance, mean: mean, bias: zeros, ridge: 1e-6, precomputed: shared
    ).responseError
  }
  return curve
}
