/// Refits the output factor of a CP fit of a 2-D conv kernel `[M, C, k1, k2]` to the layer's
/// responses (docs/calibration.md, "CP response refit"): the chain's first three convs compute,
/// from an input patch x, the R values K·x with K[r, (c, i, j)] = B[c, r]·V[i, r]·H[j, r]; with
/// those fixed, the output factor A `[M, R]` minimises E‖(W − A·K)(x − μ)‖² over the input
/// patches whose covariance `Gx` (D × D, D = C·k1·k2, (c, i, j) order) and mean are given
/// (`LastFactorRefit`, the least squares the spatial refit uses).
///
/// - Returns: the refitted factors, the bias `b + (W − Ŵ)·μ` that restores the mean response,
///   and the relative response error √(tr(E Gx Eᵀ) / tr(W Gx Wᵀ)), E = W − Ŵ.
/// - Throws: `DecompositionError` for non-finite statistics or a LAPACK failure; the factors are
///   returned unchanged (with their response error) when the system is singular.
public func cpResponseRefit(
  _ factors: CPFactors, kernel: Tensor, covariance: [Double], mean: [Double], bias: [Float], ridge: Double = 1e-6
) throws -> (factors: CPFactors, bias: [Float], responseError: Double) {
  precondition(kernel.shape.count == 4 && factors.shape == kernel.shape, "cpResponseRefit: factors \(factors.shape) of kernel \(kernel.shape)")
  let (m, c, k1, k2) = (kernel.shape[0], kernel.shape[1], kernel.shape[2], kernel.shape[3])
  let (d, r) = (c * k1 * k2, factors.rank)
  precondition(covariance.count == d * d && mean.count == d && bias.count == m)
  let bad = covariance.filter { !$0.isFinite }.count + mean.filter { !$0.isFinite }.count
  if bad > 0 { throw DecompositionError.nonFiniteEntries(count: bad, total: covariance.count + mean.count) }
  try validateFinite(kernel)
  let w = kernel.scalars.map(Double.init)  // [M, D]
  let (b, v, h) = (factors.factors[1].scalars, factors.factors[2].scalars, factors.factors[3].scalars)
  var prefix = [Double](repeating: 0, count: r * d)  // K [R, (c, i, j)]
  for q in 0..<r {
    for ch in 0..<c {
      for i in 0..<k1 {
        let bv = Double(b[ch * r + q]) * Double(v[i * r + q])
        for j in 0..<k2 { prefix[q * d + (ch * k1 + i) * k2 + j] = bv * Double(h[j * r + q]) }
      }
    }
  }
  let gw = LastFactorRefit.gemm(covariance, w, m: d, n: m, k: d, transposeB: true)  // Gx Wᵀ [D, M]
  var refitted = factors
  if let at = try LastFactorRefit.solve(prefix: prefix, n: r, covariance: covariance, gw: gw, m: m, d: d, ridge: ridge) {
    var a = [Float](repeating: 0, count: m * r)  // A [M, R] from Aᵀ [R, M]
    for q in 0..<r { for o in 0..<m { a[o * r + q] = Float(at[q * m + o]) } }
    refitted.factors[0] = Tensor(shape: [m, r], scalars: a)
  }
  let total = LastFactorRefit.responseEnergy(w, gw, m: m, d: d)
  let (newBias, error) = LastFactorRefit.finish(
    kernel: w, approximation: refitted.reconstruct().scalars, covariance: covariance, mean: mean, bias: bias, total: total, m: m, d: d)
  return (refitted, newBias, error)
}
