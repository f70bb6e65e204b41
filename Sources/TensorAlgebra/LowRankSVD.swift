/// The best rank-r approximation of a kernel's `[shape[0], rest]` unfolding (Eckart–Young).
///
/// - Parameters:
///   - kernel: A tensor of order ≥ 2, e.g. a conv weight `[M, C, k1, k2]` or a Gemm weight.
///   - rank: r in `1...min(M, rest)`.
/// - Returns: The factors, the relative error √(Σ_{i≥r} σᵢ²/Σ σᵢ²) accumulated in `Double`, and
///   every singular value.
/// - Throws: `DecompositionError.orderTooLow`, `rankBelowOne`, `rankTooLarge`,
///   `nonFiniteEntries`, `lapackFailure`.
/// - Complexity: one thin SVD, O(M · rest · min(M, rest)).
public func lowRankSVD(_ kernel: Tensor, rank: Int) throws -> SVDFit {
  try validateOrder(kernel, minimum: 2)
  let m = kernel.shape[0]
  let rest = kernel.shape.dropFirst().reduce(1, *)
  try validateRank(rank, maximum: min(m, rest), bound: "min(M, \(restName(kernel.shape.count)))")
  let svd = try singularValueDecomposition(kernel.reshaped([m, rest]))
  let k = svd.singularValues.count
  var left = [Float](repeating: 0, count: m * rank)
  for i in 0..<m {
    for j in 0..<rank { left[i * rank + j] = svd.u.scalars[i * k + j] * svd.singularValues[j] }
  }
  let right = Array(svd.vt.scalars[0..<(rank * rest)])
  let errors = truncationErrors(singularValues: svd.singularValues)
  return SVDFit(
    factors: SVDFactors(
      left: Tensor(shape: [m, rank], scalars: left), right: Tensor(shape: [rank, rest], scalars: right)),
    relativeError: errors[rank], singularValues: svd.singularValues)
}

/// `"C·k1·k2"` for order 4, `"C"` for order 2, `"C·k1"` for order 3, and so on.
func restName(_ order: Int) -> String {
  (["C"] + (0..<max(order - 2, 0)).map { "k\($0 + 1)" }).joined(separator: "·")
}
