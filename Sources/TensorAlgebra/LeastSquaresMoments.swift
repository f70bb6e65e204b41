import CLAPACK

/// The normal equations of an affine least-squares fit `y ≈ Wz + b` (z in ℝʳ, y in ℝᴹ),
/// accumulated from paired columns in `Double`, in O((r+1)·(r+1+M)) memory however many pairs
/// are added: how sequential correction refits a layer's last factor on calibration data.
///
/// With `ẑ = [z; 1]` it keeps `A = Σ ẑẑᵀ` ((r+1) × (r+1)), `B = Σ ẑ yᵀ` ((r+1) × M) and `Σ‖y‖²`;
/// a map `X = [Wᵀ; bᵀ]` ((r+1) × M) then has residual `Σ‖y − Xᵀẑ‖² = Σ‖y‖² − 2⟨X, B⟩ + ⟨X, AX⟩`.
public struct LeastSquaresMoments: Sendable, Equatable {
  /// r, the dimension of z.
  public let inputs: Int
  /// M, the dimension of y.
  public let outputs: Int
  /// Number of pairs added.
  public private(set) var count = 0
  /// A, upper triangle (row-major, (r+1)²).
  private var a: [Double]
  /// B, row-major (r+1) × M.
  private var b: [Double]
  private var targetSquares = 0.0

  /// Pairs converted to `Double` per BLAS call: bounds the scratch to chunk·(r+1+M) doubles.
  static let chunk = 4096

  public init(inputs: Int, outputs: Int) {
    precondition(inputs >= 1 && outputs >= 1)
    self.inputs = inputs
    self.outputs = outputs
    a = Array(repeating: 0, count: (inputs + 1) * (inputs + 1))
    b = Array(repeating: 0, count: (inputs + 1) * outputs)
  }

  /// Adds the `columns` pairs stored as the columns of the row-major blocks `z` `[r, columns]`
  /// from `z[zOffset]` and `y` `[M, columns]` from `y[yOffset]` (one image's conv outputs
  /// `[channels, H·W]`).
  public mutating func add(z: [Float], zOffset: Int = 0, y: [Float], yOffset: Int = 0, columns: Int) {
    let r = inputs, m = outputs, n = inputs + 1
    precondition(columns >= 0 && zOffset >= 0 && yOffset >= 0)
    precondition(zOffset + r * columns <= z.count && yOffset + m * columns <= y.count)
    var start = 0
    while start < columns {
      let c = min(Self.chunk, columns - start)
      var zc = [Double](repeating: 1, count: n * c)  // the last row stays ones: the bias
      for i in 0..<r {
        let from = zOffset + i * columns + start
        for j in 0..<c { zc[i * c + j] = Double(z[from + j]) }
      }
      var yc = [Double](repeating: 0, count: m * c)
      var squares = 0.0
      for i in 0..<m {
        let from = yOffset + i * columns + start
        for j in 0..<c {
          let v = Double(y[from + j])
          yc[i * c + j] = v
          squares += v * v
        }
      }
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, blasint(n), blasint(c), 1, zc, blasint(c), 1, &a, blasint(n))
      cblas_dgemm(
        CblasRowMajor, CblasNoTrans, CblasTrans, blasint(n), blasint(m), blasint(c), 1, zc, blasint(c), yc, blasint(c), 1,
        &b, blasint(m))
      targetSquares += squares
      start += c
    }
    count += columns
  }

  /// B = Σ ẑ yᵀ, (r+1) × M row-major.
  var crossMoments: [Double] { b }

  /// A with both triangles filled.
  var fullA: [Double] {
    let n = inputs + 1
    var s = a
    for i in 0..<n { for j in 0..<i { s[i * n + j] = a[j * n + i] } }
    return s
  }

  /// The relative residual `√(Σ‖y − Xᵀẑ‖² / Σ‖y‖²)` of the map `x` ((r+1) × M, row-major:
  /// rows 0..<r the transposed weight, row r the bias); the absolute residual when Σ‖y‖² = 0.
  public func relativeError(of x: [Double]) -> Double {
    let n = inputs + 1, m = outputs
    precondition(x.count == n * m)
    var ax = [Double](repeating: 0, count: n * m)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(n), blasint(m), blasint(n), 1, fullA, blasint(n), x, blasint(m), 0, &ax, blasint(m))
    var cross = 0.0, quadratic = 0.0
    for k in 0..<(n * m) {
      cross += x[k] * b[k]
      quadratic += x[k] * ax[k]
    }
    let residual = max(targetSquares - 2 * cross + quadratic, 0)
    return targetSquares > 0 ? (residual / targetSquares).squareRoot() : residual.squareRoot()
  }

  /// The least-squares map, ridge-regularised towards `prior`:
  /// `(A + λI) X = B + λ·prior` with `λ = ridge · tr(A) / (r+1)`.
  ///
  /// The ridge keeps the system positive definite when some z directions never vary (a channel
  /// the upstream never excites) and, pulling towards `prior` rather than 0, leaves such a
  /// direction at its prior weight instead of zeroing it; at the default scale (1e-6 of the mean
  /// diagonal) it moves a well-posed fit by about that relative amount.
  /// - Parameter prior: (r+1) × M row-major, like the result.
  /// - Returns: nil when no pairs were added or the system is not positive definite.
  /// - Throws: `DecompositionError` when LAPACK reports an invalid argument.
  public func solve(prior: [Double], ridge: Double = 1e-6) throws -> [Double]? {
    let n = inputs + 1, m = outputs
    precondition(prior.count == n * m && ridge >= 0)
    guard count > 0 else { return nil }
    var s = fullA
    let lambda = ridge * (0..<n).reduce(0.0) { $0 + s[$1 * n + $1] } / Double(n)
    for i in 0..<n { s[i * n + i] += lambda }
    var x = zip(b, prior).map { $0 + lambda * $1 }
    let info = LAPACKE_dposv(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "U")), LapackInt(n), LapackInt(m), &s, LapackInt(n), &x, LapackInt(m))
    if info < 0 { throw DecompositionError.lapackFailure(routine: "dposv", info: Int(info)) }
    guard info == 0, x.allSatisfy(\.isFinite) else { return nil }
    return x
  }
}
