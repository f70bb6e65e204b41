/// Tucker-2 factors of a conv `y = W ∗ x` fitted to what the layer sees, not to its weights
/// (docs/calibration.md, "Tucker-2 response fit").
///
/// Output mode: response PCA (`responsePCA`): `U` = the top-`ro` eigenvectors of `S = Cov(y)`.
/// Input mode: a whitened fit of the projected kernel `W′ = Uᵀ W` against the input channels'
/// second moment `R = E[x xᵀ]` (C × C, over every position; uncentred, so the input mean is
/// kept by the projection itself and zero padding needs no correction). Treating the taps'
/// inputs as uncorrelated, the error of replacing `x` by `P x` is
/// `Σ_tap tr(W′_tap (I − P) R (I − P)ᵀ W′_tapᵀ)`; with `R = L Lᵀ` (`L = R^½`) and
/// `G = Σ_tap W′_tapᵀ W′_tap`, the best rank-`ri` projection is `P = L Q Qᵀ L⁺`, `Q` the top
/// eigenvectors of `L G L` (reduced-rank regression). The chain's first conv is `Qᵀ L⁺`, the
/// core `W′ ×₁ (L Q)ᵀ`, the last conv `U`.
///
/// `R` is regularised by `ridge · tr(R) / C` on its diagonal so that directions the data barely
/// excite are not amplified by `L⁺` (inputs off the calibration set would pay for it).
///
/// - Parameters:
///   - kernel: `[M, C, k…]`.
///   - outputCovariance: `Cov(y)`, row-major M × M.
///   - inputSecondMoment: `E[x xᵀ]` of the input channels, row-major C × C.
///   - ranks: 1 ≤ ro ≤ M, 1 ≤ ri ≤ C.
/// - Returns: the factors (`output` orthonormal, `input` not) and the estimated response error
///   √((discarded output variance + input-mode residual) / total output variance), at most 1.
/// - Throws: `DecompositionError` when an eigensolver fails or an input is not finite.
public func tucker2ResponseFit(
  _ kernel: Tensor, outputCovariance: [Double], inputSecondMoment: [Double], ranks: (output: Int, input: Int),
  ridge: Double = 1e-2
) throws -> (factors: Tucker2Factors, responseError: Double) {
  precondition(kernel.shape.count >= 2, "tucker2ResponseFit: kernel must be [M, C, k…]")
  let (m, c) = (kernel.shape[0], kernel.shape[1])
  let taps = kernel.shape.dropFirst(2).reduce(1, *)
  precondition(inputSecondMoment.count == c * c && ranks.input >= 1 && ranks.input <= c, "tucker2ResponseFit: bad input moment or rank")
  let bad = inputSecondMoment.filter { !$0.isFinite }.count
  if bad > 0 { throw DecompositionError.nonFiniteEntries(count: bad, total: inputSecondMoment.count) }

  // Output mode: response PCA of the kernel unfolded [M, C·taps].
  let (pca, _) = try responsePCA(kernel.reshaped([m, c * taps]), covariance: outputCovariance, rank: ranks.output)
  let u = pca.left
  let ro = ranks.output
  let total = (0..<m).reduce(0.0) { $0 + max(outputCovariance[$1 * m + $1], 0) }
  var s = outputCovariance
  let outputTail = max(total - (try symmetricEigenvectors(&s, dim: m, count: ro)).values.reduce(0, +), 0)

  // W′ as rows (o, tap) over columns c: G = AᵀA.
  let projected = pca.right.reshaped([ro, c, taps])
  let a = projected.transposed([0, 2, 1]).reshaped([ro * taps, c])
  let g = matmul(a, a, transposeA: true)

  // L = R^½ and L⁺ from R's eigenpairs (regularised).
  var r = inputSecondMoment
  let trace = (0..<c).reduce(0.0) { $0 + max(inputSecondMoment[$1 * c + $1], 0) }
  let lift = ridge * trace / Double(c)
  for i in 0..<c { r[i * c + i] += lift }
  let (values, vectors) = try symmetricEigenvectors(&r, dim: c, count: c)
  let floor = (values.first ?? 0) * 1e-12
  let root = values.map { $0 > floor ? $0.squareRoot() : 0 }
  let inverseRoot = values.map { $0 > floor ? 1 / $0.squareRoot() : 0 }
  func symmetric(_ d: [Double]) -> Tensor {
    // E diag(d) Eᵀ
    var scaled = vectors
    for i in 0..<c { for j in 0..<c { scaled.scalars[i * c + j] *= Float(d[j]) } }
    return matmul(scaled, vectors, transposeB: true)
  }
  let l = symmetric(root)
  let lPlus = symmetric(inverseRoot)

  // Q: the top-ri eigenvectors of L G L.
  let lgl = matmul(matmul(l, g), l)
  var t = lgl.scalars.map(Double.init)
  let tTotal = (0..<c).reduce(0.0) { $0 + max(t[$1 * c + $1], 0) }
  var (kept, q) = try symmetricEigenvectors(&t, dim: c, count: ranks.input)
  fixSigns(&q)
  let inputTail = max(tTotal - kept.reduce(0, +), 0)
  kept.removeAll()

  let input = matmul(lPlus, q)  // [C, ri]: the first conv's weight is its transpose
  let lq = matmul(l, q)  // [C, ri]
  let core = projected.reshaped([ro, c] + Array(kernel.shape.dropFirst(2))).modeProduct(lq.transposed([1, 0]), mode: 1)
  let error = total > 0 ? min(1, ((outputTail + inputTail) / total).squareRoot()) : 0
  return (Tucker2Factors(core: core, output: u, input: input), error)
}
