/// Tensor-train decomposition by TT-SVD (Oseledets 2011, Algorithm 1), in the tensor's own mode
/// order (for a conv weight the rewriter passes `[C, k1, k2, M]`).
///
/// Step n reshapes the remainder to `[r_{n−1}·Iₙ, rest]`, keeps its leading rₙ singular
/// vectors as core n and carries Σ Vᵀ on. The error is measured on the reconstruction (TT-SVD's
/// spectrum only bounds it).
///
/// - Parameters:
///   - tensor: A tensor of order N ≥ 2.
///   - ranks: The N − 1 internal ranks; rₙ in `1...min(r_{n−1}·Iₙ, Π_{m>n} I_m)`.
/// - Returns: The cores and the relative error.
/// - Throws: `DecompositionError.orderTooLow`, `rankCountMismatch`, `rankBelowOne`,
///   `rankTooLarge`, `nonFiniteEntries`, `lapackFailure`.
/// - Complexity: N − 1 thin SVDs, the first of `[I₀, Π_{m>0} I_m]`.
public func tensorTrain(_ tensor: Tensor, ranks: [Int]) throws -> TTFit {
  try validateOrder(tensor, minimum: 2)
  let shape = tensor.shape
  let order = shape.count
  if ranks.count != order - 1 { throw DecompositionError.rankCountMismatch(expected: order - 1, actual: ranks.count) }
  try validateFinite(tensor)
  var cores: [Tensor] = []
  var remainder = tensor.scalars
  var previous = 1
  for n in 0..<(order - 1) {
    let rows = previous * shape[n]
    let cols = remainder.count / rows
    try validateRank(ranks[n], name: "TT rank \(n)", maximum: min(rows, cols), bound: "min(r\(n - 1)·I\(n), I\(n + 1)⋯I\(order - 1))")
    let r = ranks[n]
    let svd = try singularValueDecomposition(Tensor(shape: [rows, cols], scalars: remainder))
    let k = svd.singularValues.count
    var core = [Float](repeating: 0, count: rows * r)
    for i in 0..<rows { for j in 0..<r { core[i * r + j] = svd.u.scalars[i * k + j] } }
    cores.append(Tensor(shape: [previous, shape[n], r], scalars: core))
    var next = [Float](repeating: 0, count: r * cols)
    for j in 0..<r { for c in 0..<cols { next[j * cols + c] = svd.singularValues[j] * svd.vt.scalars[j * cols + c] } }
    remainder = next
    previous = r
  }
  cores.append(Tensor(shape: [previous, shape[order - 1], 1], scalars: remainder))
  let factors = TTFactors(cores: cores)
  let error = relativeDistance(factors.reconstruct(), tensor)
  return TTFit(factors: factors, relativeError: error.isFinite ? error : 0)
}
