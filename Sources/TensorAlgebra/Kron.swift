/// The nearest sum of R Kronecker products to a kernel after channel permutations
/// (Van Loan & Pitsianis 1993, applied to the shuffled kernel).
///
/// `W'[o', i', k…] = W[outputPermutation[o'], inputPermutation[i'], k…]`, o' = c1·C2 + c2,
/// i' = a1·A2 + a2. The rearranged matrix `R[(c1, a1), (c2, a2, k…)]` (`[C1·A1, C2·A2·K]`) has
/// the SVD U Σ Vᵀ; `a[r] = σ_r u_r`, `b[r] = v_r`. Exact when R is the rank of that matrix.
///
/// - Parameters:
///   - kernel: `[M, C, k…]`, order ≥ 2.
///   - outputSplit: (C1, C2) with C1·C2 = M.
///   - inputSplit: (A1, A2) with A1·A2 = C.
///   - rank: R in `1...min(C1·A1, C2·A2·K)`.
///   - outputPermutation: π_out, a permutation of `0..<M`.
///   - inputPermutation: π_in, a permutation of `0..<C`.
/// - Returns: The factors, the error from the spectrum and every singular value.
/// - Throws: `DecompositionError.orderTooLow`, `splitMismatch`, `invalidPermutation`,
///   `rankBelowOne`, `rankTooLarge`, `nonFiniteEntries`, `lapackFailure`.
/// - Complexity: one thin SVD of `[C1·A1, C2·A2·K]`.
public func kron(
  _ kernel: Tensor, outputSplit: (Int, Int), inputSplit: (Int, Int), rank: Int,
  outputPermutation: [Int], inputPermutation: [Int]
) throws -> KronFit {
  try validateOrder(kernel, minimum: 2)
  let m = kernel.shape[0]
  let c = kernel.shape[1]
  let spatial = Array(kernel.shape.dropFirst(2))
  let k = spatial.reduce(1, *)
  let (c1, c2) = outputSplit
  let (a1, a2) = inputSplit
  if c1 < 1 || c2 < 1 || c1 * c2 != m {
    throw DecompositionError.splitMismatch(name: "output split", first: c1, second: c2, channels: m)
  }
  if a1 < 1 || a2 < 1 || a1 * a2 != c {
    throw DecompositionError.splitMismatch(name: "input split", first: a1, second: a2, channels: c)
  }
  if outputPermutation.count != m || !isPermutation(outputPermutation) {
    throw DecompositionError.invalidPermutation(name: "outputPermutation", count: m)
  }
  if inputPermutation.count != c || !isPermutation(inputPermutation) {
    throw DecompositionError.invalidPermutation(name: "inputPermutation", count: c)
  }
  try validateRank(rank, maximum: min(c1 * a1, c2 * a2 * k), bound: "min(C1·A1, C2·A2·K)")
  try validateFinite(kernel)
  // W' by gathering rows (outputs) then input channels.
  var permuted = [Float](repeating: 0, count: kernel.count)
  for o in 0..<m {
    let src = outputPermutation[o] * c * k
    for i in 0..<c {
      let s = src + inputPermutation[i] * k
      let d = (o * c + i) * k
      for j in 0..<k { permuted[d + j] = kernel.scalars[s + j] }
    }
  }
  // [C1, C2, A1, A2, K] → [C1, A1, C2, A2, K]
  let rearranged = Tensor(shape: [c1, c2, a1, a2, k], scalars: permuted).transposed([0, 2, 1, 3, 4])
    .reshaped([c1 * a1, c2 * a2 * k])
  let svd = try singularValueDecomposition(rearranged)
  let kk = svd.singularValues.count
  let rows = c1 * a1
  let cols = c2 * a2 * k
  var a = [Float](repeating: 0, count: rank * rows)
  for r in 0..<rank {
    for i in 0..<rows { a[r * rows + i] = svd.singularValues[r] * svd.u.scalars[i * kk + r] }
  }
  let b = Array(svd.vt.scalars[0..<(rank * cols)])
  return KronFit(
    factors: KronFactors(
      a: Tensor(shape: [rank, c1, a1], scalars: a), b: Tensor(shape: [rank, c2, a2] + spatial, scalars: b)),
    relativeError: truncationErrors(singularValues: svd.singularValues)[rank],
    singularValues: svd.singularValues)
}
