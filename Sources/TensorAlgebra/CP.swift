import CLAPACK

/// CP decomposition by alternating least squares (Kolda & Bader 2009, §3.4).
///
/// Start: factor n (n ≥ 1) is the leading min(R, Iₙ) left singular vectors of the mode-n
/// unfolding (HOSVD-style, deterministic signs); when R > Iₙ the remaining columns are uniform in
/// [−1, 1)/√Iₙ from `SplitMix64(seed: 0x5EED + n)`. Factor 0 needs no start: it is solved first.
/// Sweep: for n = 0…N−1, `Aₙ ← MTTKRPₙ · (⊛_{m≠n} AₘᵀAₘ)⁺` (Cholesky in `Double`, eigenvalue
/// pseudo-inverse if singular), then its columns are normalised into λ. The MTTKRP contracts
/// one mode by GEMM and the rest by rank-wise reductions, never forming a Khatri–Rao product.
/// The error is √(‖X‖² − 2⟨X, X̂⟩ + ‖X̂‖²)/‖X‖ from the Gram matrices, recomputed from the
/// reconstruction below 1e-2 (where that difference cancels). λ is folded into `factors[0]`.
///
/// - Parameters:
///   - tensor: A tensor of order ≥ 2, e.g. a conv weight `[M, C, k1, k2]`.
///   - rank: R in `1...count`; it may exceed the mode sizes.
///   - options: Tolerance and sweep cap.
/// - Returns: The factors, relative error, sweeps run and whether the tolerance was met.
/// - Throws: `DecompositionError.orderTooLow`, `rankBelowOne`, `rankTooLarge`,
///   `nonFiniteEntries`, `lapackFailure`.
/// - Complexity: per sweep N GEMMs of O(R · count) plus reductions of the same order.
public func cp(_ tensor: Tensor, rank: Int, options: CPOptions = .init()) throws -> CPFit {
  try validateOrder(tensor, minimum: 2)
  try validateRank(rank, maximum: tensor.count, bound: "the number of entries")
  try validateFinite(tensor)
  let shape = tensor.shape
  let order = shape.count
  let r = rank
  let normSquared = tensor.frobeniusNorm * tensor.frobeniusNorm
  if normSquared == 0 {
    let zero = CPFactors(factors: shape.map { Tensor(zeros: [$0, r]) })
    return CPFit(factors: zero, relativeError: 0, sweeps: 0, converged: true)
  }

  // Start.
  var factors = [Tensor(zeros: [shape[0], r])]
  for n in 1..<order {
    let i = shape[n]
    let unfolding = tensor.unfolded(mode: n)
    let leading = min(r, i)
    let u = try leadingSubspace(of: unfolding, rank: leading).vectors
    var a = [Float](repeating: 0, count: i * r)
    for row in 0..<i { for col in 0..<leading { a[row * r + col] = u.scalars[row * leading + col] } }
    if r > i {
      var g = SplitMix64(seed: 0x5EED &+ UInt64(n))
      let scale = 1 / Float(i).squareRoot()
      for row in 0..<i {
        for col in leading..<r {
          a[row * r + col] = (Float(g.next() >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
      }
    }
    factors.append(Tensor(shape: [i, r], scalars: a))
  }
  // The sweeps work on buffers allocated here, once (`CPBuffers`); factors, Gram matrices and
  // MTTKRPs keep the arithmetic and its order of the array-per-step loop they replace.
  let byModeOneAxes = [1, 0] + Array(2..<order)
  let byModeOne = tensor.transposed(byModeOneAxes)
  let plans = (0..<order).map { n in
    // Mode 0's MTTKRP contracts mode 1 by GEMM, from the copy with mode 1 first.
    n == 0
      ? MTTKRPPlan(shape: byModeOne.shape, axes: byModeOneAxes, mode: 0)
      : MTTKRPPlan(shape: shape, axes: Array(0..<order), mode: n)
  }
  let buffers = CPBuffers(shape: shape, rank: r, scratch: plans.map { $0.scratchCount(rank: r) }.max() ?? 1)
  for n in 0..<order {
    factors[n].scalars.withUnsafeBufferPointer { buffers.factors[n].initialize(from: $0.baseAddress!, count: $0.count) }
    buffers.updateGram(n)
  }
  var lambda = [Double](repeating: 1, count: r)
  var previous = Double.infinity
  var error = 1.0
  var sweeps = 0
  var converged = false
  let m = buffers.mttkrp  // [Iₙ, R]; after a sweep, the last mode's

  try tensor.scalars.withUnsafeBufferPointer { px in
    try byModeOne.scalars.withUnsafeBufferPointer { p1 in
      while sweeps < options.maxSweeps {
        sweeps += 1
        for n in 0..<order {
          plans[n].run(n == 0 ? p1.baseAddress! : px.baseAddress!, factors: buffers.factors, rank: r, scratch: buffers.scratch, into: m)
          let v = buffers.hadamard
          for e in 0..<(r * r) { v[e] = 1 }
          for k in 0..<order where k != n { let g = buffers.grams[k]; for e in 0..<(r * r) { v[e] *= g[e] } }
          let rows = shape[n]
          let a = buffers.factors[n]
          try buffers.solveSymmetric(rows: rows, into: a)
          // Normalise the columns into λ.
          for col in 0..<r {
            var s = 0.0
            for row in 0..<rows { let x = Double(a[row * r + col]); s += x * x }
            let norm = s.squareRoot()
            lambda[col] = norm
            if norm > 0 { let inv = Float(1 / norm); for row in 0..<rows { a[row * r + col] *= inv } }
          }
          buffers.updateGram(n)
        }
        // Cheap error: ‖X̂‖² = λᵀ(⊛ₖ AₖᵀAₖ)λ, ⟨X, X̂⟩ = Σᵣ λᵣ Σᵢ MTTKRP[i, r]·A_{N−1}[i, r].
        let hadamard = buffers.hadamard
        for e in 0..<(r * r) { hadamard[e] = 1 }
        for k in 0..<order { let g = buffers.grams[k]; for e in 0..<(r * r) { hadamard[e] *= g[e] } }
        var modelSquared = 0.0
        for p in 0..<r { for q in 0..<r { modelSquared += lambda[p] * hadamard[p * r + q] * lambda[q] } }
        var inner = 0.0
        let last = buffers.factors[order - 1]
        for row in 0..<shape[order - 1] {
          for col in 0..<r { inner += lambda[col] * Double(m[row * r + col]) * Double(last[row * r + col]) }
        }
        error = max(0, (normSquared - 2 * inner + modelSquared) / normSquared).squareRoot()
        if error < 1e-2 {
          error = relativeDistance(folded(buffers.tensors(), lambda).reconstruct(), tensor)
        }
        if abs(previous - error) < options.tolerance || error < 1e-7 {
          converged = true
          break
        }
        previous = error
      }
    }
  }
  return CPFit(factors: folded(buffers.tensors(), lambda), relativeError: error, sweeps: sweeps, converged: converged)
}

/// The factors with λ multiplied into the columns of factor 0.
private func folded(_ factors: [Tensor], _ lambda: [Double]) -> CPFactors {
  var f = factors
  let r = lambda.count
  for row in 0..<f[0].shape[0] {
    for col in 0..<r { f[0].scalars[row * r + col] *= Float(lambda[col]) }
  }
  return CPFactors(factors: f)
}

