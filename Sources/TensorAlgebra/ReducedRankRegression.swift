import CLAPACK

/// A rank-r affine map `y ≈ A·B·x + b`: `left` A `[M, r]` (orthonormal columns), `right` B
/// `[r, D]`, `bias` b `[M]`, row-major.
public struct ReducedRankMap: Sendable, Equatable {
  public var left: [Double]
  public var right: [Double]
  public var bias: [Double]
}

extension LeastSquaresMoments {
  /// Reduced-rank regression on the accumulated pairs (x = z ∈ ℝᴰ, y ∈ ℝᴹ): the rank-r map
  /// minimising Σ‖y − A·B·x − b‖², both factors free — sequential correction's two-factor
  /// refit (Zhang et al., TPAMI 2016, asymmetric reconstruction of both factors).
  ///
  /// Centred, with Sxx = Cov(x), Sxy = Cov(x, y) and the ridge S = Sxx + λI pulled towards
  /// `prior` W₀: the full-rank map is W = (Sxy + λW₀ᵀ)ᵀ S⁻¹ (`dposv`), and the best rank-r map
  /// in the metric S is P_r·W with P_r = U_r U_rᵀ, U_r the top-r eigenvectors of W S Wᵀ
  /// (M × M, `dsyevd`): A = U_r, B = U_rᵀ W, b = ȳ − A B x̄. The whitened formulation (SVD of
  /// Sxy ᵀ L⁻ᵀ, S = L Lᵀ) gives the same subspace.
  /// - Parameters: `prior` W₀ `[M, D]` row-major; λ = `ridge` · tr(Sxx)/D.
  /// - Returns: nil with no pairs, a rank outside 1...min(M, D), or a singular system.
  /// - Throws: `DecompositionError` when LAPACK reports an illegal argument or the eigensolver fails.
  /// - Complexity: O(D³/3 + D²·M + M³) time, O(D² + D·M + M²) doubles besides the moments.
  public func reducedRank(rank r: Int, prior: [Double], ridge: Double = 1e-6) throws -> ReducedRankMap? {
    let (d, m, n) = (inputs, outputs, inputs + 1)
    precondition(prior.count == m * d && ridge >= 0)
    guard count > 0, r >= 1, r <= min(m, d) else { return nil }
    let a = fullA, b = crossMoments, k = Double(count)
    let xMean = (0..<d).map { a[$0 * n + d] / k }
    let yMean = (0..<m).map { b[d * m + $0] / k }
    var s = [Double](repeating: 0, count: d * d)
    for i in 0..<d { for j in 0..<d { s[i * d + j] = a[i * n + j] / k - xMean[i] * xMean[j] } }
    let lambda = ridge * max((0..<d).reduce(0.0) { $0 + s[$1 * d + $1] } / Double(d), .leastNormalMagnitude)
    for i in 0..<d { s[i * d + i] += lambda }
    var rhs = [Double](repeating: 0, count: d * m)  // Sxy + λW₀ᵀ [D, M]
    for i in 0..<d { for o in 0..<m { rhs[i * m + o] = b[i * m + o] / k - xMean[i] * yMean[o] + lambda * prior[o * d + i] } }
    var w = rhs  // → Wᵀ [D, M]
    let info = LAPACKE_dposv(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "U")), LapackInt(d), LapackInt(m), &s, LapackInt(d), &w, LapackInt(m))
    if info < 0 { throw DecompositionError.lapackFailure(routine: "dposv", info: Int(info)) }
    guard info == 0, w.allSatisfy(\.isFinite) else { return nil }
    // W S Wᵀ = (Sxy + λW₀ᵀ)ᵀ Wᵀ, symmetric up to rounding: symmetrised before the eigensolver.
    var c = [Double](repeating: 0, count: m * m)
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, blasint(m), blasint(m), blasint(d), 1, rhs, blasint(m), w, blasint(m), 0, &c, blasint(m))
    for i in 0..<m { for j in 0..<i { (c[i * m + j], c[j * m + i]) = (0.5 * (c[i * m + j] + c[j * m + i]), 0.5 * (c[i * m + j] + c[j * m + i])) } }
    guard c.allSatisfy(\.isFinite) else { return nil }
    var (_, u) = try symmetricEigenvectors(&c, dim: m, count: r)
    fixSigns(&u)
    let left = u.scalars.map(Double.init)  // [M, r]
    var right = [Double](repeating: 0, count: r * d)  // Uᵀ W = Uᵀ (Wᵀ)ᵀ [r, D]
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasTrans, blasint(r), blasint(d), blasint(m), 1, left, blasint(r), w, blasint(m), 0, &right, blasint(d))
    var bias = yMean
    for q in 0..<r {
      var bx = 0.0
      for i in 0..<d { bx += right[q * d + i] * xMean[i] }
      for o in 0..<m { bias[o] -= left[o * r + q] * bx }
    }
    return ReducedRankMap(left: left, right: right, bias: bias)
  }
}
