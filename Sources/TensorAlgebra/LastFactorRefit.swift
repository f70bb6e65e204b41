import CLAPACK

/// The least-squares refit of a chain's last factor to a layer's responses, shared by the
/// formats whose approximation is linear in its last factor: `Ŵ = A·K`, K `[n, D]` the rows the
/// chain's earlier factors compute from an input patch (D = C·k1·k2, (c, i, j) order), A `[M, n]`.
/// Over the input patches x with covariance `Gx` and mean μ, A minimises E‖(W − A·K)(x − μ)‖²:
/// `(K Gx Kᵀ + λI) Aᵀ = K Gx Wᵀ`, an n-square system with M right-hand sides (`dposv`).
enum LastFactorRefit {
  /// Aᵀ `[n, M]`, or nil when the system is singular (the caller keeps its factor).
  /// - Parameters: `prefix` K `[n, D]`; `gw` = Gx Wᵀ `[D, M]` (rank-independent: callers with
  ///   many ranks compute it once); `ridge` scales λ to the mean diagonal of K Gx Kᵀ.
  /// - Throws: `DecompositionError.lapackFailure` for an illegal argument.
  static func solve(prefix: [Double], n: Int, covariance: [Double], gw: [Double], m: Int, d: Int, ridge: Double) throws -> [Double]? {
    let gk = gemm(covariance, prefix, m: d, n: n, k: d, transposeB: true)  // Gx Kᵀ [D, n]
    var normal = gemm(prefix, gk, m: n, n: n, k: d)  // K Gx Kᵀ [n, n]
    var rhs = gemm(prefix, gw, m: n, n: m, k: d)  // K Gx Wᵀ [n, M]
    let lambda = ridge * max((0..<n).reduce(0.0) { $0 + normal[$1 * n + $1] } / Double(n), .leastNormalMagnitude)
    for i in 0..<n { normal[i * n + i] += lambda }
    let info = LAPACKE_dposv(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "U")), LapackInt(n), LapackInt(m), &normal, LapackInt(n), &rhs, LapackInt(m))
    if info < 0 { throw DecompositionError.lapackFailure(routine: "dposv", info: Int(info)) }
    return info == 0 && rhs.allSatisfy(\.isFinite) ? rhs : nil
  }

  /// The bias `b + (W − Ŵ)·μ` that restores the mean response, and the relative response error
  /// √(tr(E Gx Eᵀ) / total), E = W − Ŵ (0 when `total`, tr(W Gx Wᵀ), is 0).
  static func finish(
    kernel w: [Double], approximation: [Float], covariance: [Double], mean: [Double], bias: [Float], total: Double, m: Int, d: Int
  ) -> (bias: [Float], responseError: Double) {
    let e = zip(w, approximation).map { $0 - Double($1) }  // [M, D]
    let ge = gemm(e, covariance, m: m, n: d, k: d)
    let residual = zip(ge, e).reduce(0.0) { $0 + $1.0 * $1.1 }
    var newBias = bias
    for o in 0..<m {
      var s = 0.0
      for k in 0..<d { s += e[o * d + k] * mean[k] }
      newBias[o] = Float(Double(bias[o]) + s)
    }
    return (newBias, total > 0 ? (max(residual, 0) / total).squareRoot() : 0)
  }

  /// tr(W Gx Wᵀ) from W `[M, D]` and Gx Wᵀ `[D, M]`: the layer's total response variance.
  static func responseEnergy(_ w: [Double], _ gw: [Double], m: Int, d: Int) -> Double {
    var total = 0.0
    for o in 0..<m { for k in 0..<d { total += w[o * d + k] * gw[k * m + o] } }
    return total
  }

  /// Row-major `op(a) · op(b)` in `Double`.
  static func gemm(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int, transposeB: Bool = false) -> [Double] {
    var c = [Double](repeating: 0, count: m * n)
    guard m > 0, n > 0, k > 0 else { return c }
    cblas_dgemm(
      CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, blasint(m), blasint(n), blasint(k), 1, a, blasint(k),
      b, blasint(transposeB ? k : n), 0, &c, blasint(n))
    return c
  }
}
