/// The relative error of keeping the leading r singular values, for every r.
///
/// `errors[r] = √(Σ_{i≥r} σᵢ² / Σᵢ σᵢ²)` for r = 0…n, summed in `Double` from the tail (no
/// cancellation); `errors[0] = 1` and `errors[n] = 0`. An all-zero spectrum gives all zeros.
///
/// - Parameter singularValues: Non-negative values (any order is accepted; the leading ones are
///   taken to be the first ones).
/// - Returns: n + 1 non-increasing errors.
/// - Complexity: O(n).
public func truncationErrors(singularValues: [Float]) -> [Double] {
  let n = singularValues.count
  var tail = [Double](repeating: 0, count: n + 1)
  for i in stride(from: n - 1, through: 0, by: -1) {
    let s = Double(singularValues[i])
    tail[i] = tail[i + 1] + s * s
  }
  let total = tail[0]
  if total == 0 { return [Double](repeating: 0, count: n + 1) }
  return tail.map { ($0 / total).squareRoot() }
}

/// The smallest r with `errors[r] ≤ maxError`, or the last index if none qualifies.
///
/// - Parameters:
///   - errors: A non-increasing error curve indexed by rank, e.g. from `truncationErrors`.
///   - maxError: The bound on the relative error.
/// - Returns: A rank in `0..<errors.count` (0 only if `errors[0] ≤ maxError`).
/// - Complexity: O(errors.count).
public func smallestRank(errors: [Double], maxError: Double) -> Int {
  for (r, e) in errors.enumerated() where e <= maxError { return r }
  return max(errors.count - 1, 0)
}

/// The singular values of a matrix, non-increasing, from the eigenvalues of its smaller Gram
/// matrix (accumulated in double): for planning ranks, where no singular vector is needed.
///
/// - Parameter matrix: A 2-D tensor `[m, n]`.
/// - Returns: min(m, n) values.
/// - Throws: `DecompositionError.nonFiniteEntries`, `.lapackFailure`.
/// - Complexity: O(m·n·min(m, n)) for the Gram matrix, O(min(m, n)³) for its eigenvalues.
public func singularValues(_ matrix: Tensor) throws -> [Float] {
  precondition(matrix.shape.count == 2, "singularValues takes a 2-D tensor")
  return try squaredSingularValues(of: matrix).map { Float($0.squareRoot()) }
}
