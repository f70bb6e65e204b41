import CLAPACK

/// A thin singular value decomposition `A = U · diag(σ) · Vᵀ` of an `[m, n]` matrix, k = min(m, n).
public struct SingularValueDecomposition: Sendable, Equatable {
  /// Left singular vectors as columns, `[m, k]`, orthonormal.
  public var u: Tensor
  /// The k singular values, non-increasing, non-negative.
  public var singularValues: [Float]
  /// Right singular vectors as rows, `[k, n]`, orthonormal.
  public var vt: Tensor

  /// Creates a decomposition from its parts.
  public init(u: Tensor, singularValues: [Float], vt: Tensor) {
    self.u = u
    self.singularValues = singularValues
    self.vt = vt
  }
}

/// The thin SVD of a 2-D tensor, through LAPACKE `sgesdd`, falling back to `sgesvd` if it fails
/// to converge.
///
/// The row-major `[m, n]` matrix is handed to LAPACK as its column-major transpose, so no copy is
/// transposed: LAPACK's left vectors are our `vt` and its right vectors our `u`.
///
/// - Parameter matrix: A 2-D tensor `[m, n]` with finite entries.
/// - Returns: `u [m, k]`, `singularValues [k]`, `vt [k, n]`, k = min(m, n).
/// - Throws: `DecompositionError.orderTooLow` for a non-matrix, `nonFiniteEntries` for NaN or
///   infinity, `lapackFailure` if both routines fail.
/// - Complexity: O(m · n · k).
public func singularValueDecomposition(_ matrix: Tensor) throws -> SingularValueDecomposition {
  guard matrix.shape.count == 2 else {
    throw DecompositionError.orderTooLow(order: matrix.shape.count, minimum: 2)
  }
  try validateFinite(matrix)
  let m = matrix.shape[0]
  let n = matrix.shape[1]
  let k = min(m, n)
  if k == 0 {
    return SingularValueDecomposition(
      u: Tensor(zeros: [m, 0]), singularValues: [], vt: Tensor(zeros: [0, n]))
  }
  // Column-major view: Aᵀ is n × m with leading dimension n.
  var s = [Float](repeating: 0, count: k)
  var lapackU = [Float](repeating: 0, count: n * k)   // n × k col-major = our vt [k, n]
  var lapackVt = [Float](repeating: 0, count: k * m)  // k × m col-major = our u [m, k]
  var work = matrix.scalars
  var info = LAPACKE_sgesdd(
    LAPACK_COL_MAJOR, Int8(UInt8(ascii: "S")), LapackInt(n), LapackInt(m), &work, LapackInt(n),
    &s, &lapackU, LapackInt(n), &lapackVt, LapackInt(k))
  if info > 0 {
    work = matrix.scalars
    var superb = [Float](repeating: 0, count: max(k - 1, 1))
    info = LAPACKE_sgesvd(
      LAPACK_COL_MAJOR, Int8(UInt8(ascii: "S")), Int8(UInt8(ascii: "S")), LapackInt(n),
      LapackInt(m), &work, LapackInt(n), &s, &lapackU, LapackInt(n), &lapackVt, LapackInt(k),
      &superb)
    if info != 0 { throw DecompositionError.lapackFailure(routine: "sgesvd", info: Int(info)) }
  } else if info < 0 {
    throw DecompositionError.lapackFailure(routine: "sgesdd", info: Int(info))
  }
  return SingularValueDecomposition(
    u: Tensor(shape: [m, k], scalars: lapackVt), singularValues: s,
    vt: Tensor(shape: [k, n], scalars: lapackU))
}
