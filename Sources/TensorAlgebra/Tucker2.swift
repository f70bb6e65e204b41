/// Tucker-2 decomposition of a kernel `[M, C, k…]` over its modes 0 and 1, by HOSVD then HOOI.
///
/// The start is the sequentially truncated HOSVD (Vannieuwenhoven, Vandebril, Meerbergen 2012):
/// the factor of the smaller channel mode is the leading left singular subspace of its unfolding,
/// the other that of the tensor already compressed by it. Each HOOI sweep (De Lathauwer, De Moor,
/// Vandewalle 2000) then recomputes `output` from `W ×₁ inputᵀ` and `input` from
/// `W ×₀ outputᵀ`, which never lowers ‖core‖. For 1×1 kernels (K = 1) the start is the truncated
/// SVD of the matrix `[M, C]`, already optimal, so no sweep is run. The factors are orthonormal, so ‖Ŵ‖ = ‖core‖ and the error is
/// √(1 − ‖core‖²/‖W‖²), recomputed from the reconstruction when below 1e-2 (where that
/// difference cancels: a float32 core carries ~1e-6 relative error in ‖core‖², i.e. ~1e-3 in the
/// error). The fit with the lowest error is returned.
///
/// - Parameters:
///   - kernel: A tensor `[M, C, k…]` of order ≥ 2 (1-D, 2-D and 3-D convs; order 2 is a matrix).
///   - ranks: `output` in `1...min(M, C·K)`, `input` in `1...min(C, M·K)`, K = product of k….
///   - options: Tolerance and sweep cap.
/// - Returns: Factors, relative error, sweeps run and the error after each step.
/// - Throws: `DecompositionError.orderTooLow`, `rankBelowOne`, `rankTooLarge`,
///   `nonFiniteEntries`, `lapackFailure`.
/// - Complexity: per sweep two GEMMs of O(M·C·K·r) and two symmetric eigenproblems of size M and
///   C (top r vectors only).
public func tucker2(
  _ kernel: Tensor, ranks: (output: Int, input: Int), options: Tucker2Options = .init()
) throws -> Tucker2Fit {
  try validateOrder(kernel, minimum: 2)
  let m = kernel.shape[0]
  let c = kernel.shape[1]
  let spatial = Array(kernel.shape.dropFirst(2))
  let k = spatial.reduce(1, *)
  let spatialName = spatial.isEmpty ? "" : "·" + (1...spatial.count).map { "k\($0)" }.joined(separator: "·")
  try validateRank(ranks.output, name: "output rank", maximum: min(m, c * k), bound: "min(M, C\(spatialName))")
  try validateRank(ranks.input, name: "input rank", maximum: min(c, m * k), bound: "min(C, M\(spatialName))")
  try validateFinite(kernel)
  let ro = ranks.output
  let ri = ranks.input
  let w3 = kernel.reshaped([m, c, k])
  let normSquared = kernel.frobeniusNorm * kernel.frobeniusNorm

  // Z = outputᵀ·W₍₀₎ laid out [C, ro·K]; core = (inputᵀ·Z) laid out [ro, ri, k…].
  func inputSide(_ u: Tensor) -> Tensor {
    matmul(u, w3.reshaped([m, c * k]), transposeA: true).reshaped([ro, c, k])
      .transposed([1, 0, 2]).reshaped([c, ro * k])
  }
  func coreOf(_ zt: Tensor, _ v: Tensor) -> Tensor {
    matmul(v, zt, transposeA: true).reshaped([ri, ro, k]).transposed([1, 0, 2])
      .reshaped([ro, ri] + spatial)
  }
  func error(_ f: Tucker2Factors) -> Double {
    if normSquared == 0 { return 0 }
    let g = f.core.frobeniusNorm
    let cheap = max(0, 1 - g * g / normSquared).squareRoot()
    if cheap >= 1e-2 { return cheap }
    return relativeDistance(f.reconstruct(), kernel)
  }

  if k == 1 { return try matrixTucker2(w3.reshaped([m, c]), ranks: (ro, ri), shape: kernel.shape, error: error) }

  // Sequentially truncated HOSVD: the smaller channel mode from the full unfolding, then the
  // other from the tensor already compressed along it (half a HOOI sweep).
  // W laid out [M·K, C], so W ×₁ inputᵀ is one GEMM.
  let wt = w3.transposed([0, 2, 1]).reshaped([m * k, c])
  var u: Tensor
  var v: Tensor
  var zt: Tensor
  if c < m {
    v = try leadingSubspace(of: w3.unfolded(mode: 1), rank: ri).vectors
    u = try leadingSubspace(of: matmul(wt, v).reshaped([m, k * ri]), rank: ro).vectors
    zt = inputSide(u)
  } else {
    u = try leadingSubspace(of: w3.reshaped([m, c * k]), rank: ro).vectors
    zt = inputSide(u)
    v = try leadingSubspace(of: zt, rank: ri).vectors
  }
  var best = Tucker2Factors(core: coreOf(zt, v), output: u, input: v)
  var bestError = error(best)
  var errors = [bestError]
  var sweeps = 0
  while sweeps < options.maxSweeps && bestError > 0 {
    sweeps += 1
    let y = matmul(wt, v).reshaped([m, k * ri])
    u = try leadingSubspace(of: y, rank: ro).vectors
    zt = inputSide(u)
    v = try leadingSubspace(of: zt, rank: ri).vectors
    let f = Tucker2Factors(core: coreOf(zt, v), output: u, input: v)
    let e = error(f)
    errors.append(e)
    let previous = errors[errors.count - 2]
    if e < bestError {
      best = f
      bestError = e
    }
    if previous - e < options.tolerance { break }
  }
  return Tucker2Fit(factors: best, relativeError: bestError, sweeps: sweeps, errors: errors)
}

/// The singular values of a kernel's mode-0 and mode-1 unfoldings, for planning Tucker-2 ranks.
///
/// - Parameter kernel: A tensor `[M, C, k…]` of order ≥ 2.
/// - Returns: `output`: the min(M, C·K) singular values of `[M, C·K]`; `input`: the
///   min(C, M·K) singular values of `[C, M·K]`; each non-increasing.
/// - Throws: `DecompositionError.orderTooLow`, `nonFiniteEntries`, `lapackFailure`.
/// - Complexity: two Gram matrices, O(M·C·K·min(M, C)), and their eigenvalues.
public func modeSpectra(_ kernel: Tensor) throws -> (output: [Float], input: [Float]) {
  try validateOrder(kernel, minimum: 2)
  let m = kernel.shape[0]
  let out = try squaredSingularValues(of: kernel.reshaped([m, kernel.count / max(m, 1)]))
  let inn = try squaredSingularValues(of: kernel.unfolded(mode: 1))
  return (out.map { Float($0.squareRoot()) }, inn.map { Float($0.squareRoot()) })
}

/// ‖a − b‖F / ‖b‖F in `Double` (0 when both are zero, +∞ when only b is).
func relativeDistance(_ a: Tensor, _ b: Tensor) -> Double {
  precondition(a.count == b.count)
  var diff = 0.0
  var norm = 0.0
  for i in 0..<a.count {
    let x = Double(a.scalars[i])
    let y = Double(b.scalars[i])
    diff += (x - y) * (x - y)
    norm += y * y
  }
  if norm == 0 { return diff == 0 ? 0 : .infinity }
  return (diff / norm).squareRoot()
}

/// Tucker-2 of a matrix `a` `[M, C]`: output/input are the leading left/right singular subspaces
/// from one Gram eigenproblem of the smaller side; core = outputᵀ·a·input. Optimal, no sweeps.
private func matrixTucker2(
  _ a: Tensor, ranks: (Int, Int), shape: [Int], error: (Tucker2Factors) -> Double
) throws -> Tucker2Fit {
  let (m, c) = (a.shape[0], a.shape[1])
  let (ro, ri) = ranks
  var u: Tensor
  var v: Tensor
  if m >= c {
    let eigen = try gramEigenvectors(of: a, side: .columns, count: max(ro, ri))
    v = columns(eigen.vectors, ri)
    u = try orthonormalBasis(matmul(a, columns(eigen.vectors, ro)))
  } else {
    let eigen = try gramEigenvectors(of: a, side: .rows, count: max(ro, ri))
    u = columns(eigen.vectors, ro)
    v = try orthonormalBasis(matmul(a, columns(eigen.vectors, ri), transposeA: true))
  }
  fixSigns(&u)
  fixSigns(&v)
  let core = matmul(matmul(u, a, transposeA: true), v).reshaped([ro, ri] + shape.dropFirst(2))
  let f = Tucker2Factors(core: core, output: u, input: v)
  let e = error(f)
  return Tucker2Fit(factors: f, relativeError: e, sweeps: 0, errors: [e])
}

/// The first `count` columns of a row-major `[rows, n]` tensor.
func columns(_ t: Tensor, _ count: Int) -> Tensor {
  let (rows, n) = (t.shape[0], t.shape[1])
  if count == n { return t }
  var out = [Float](repeating: 0, count: rows * count)
  for i in 0..<rows { for j in 0..<count { out[i * count + j] = t.scalars[i * n + j] } }
  return Tensor(shape: [rows, count], scalars: out)
}
