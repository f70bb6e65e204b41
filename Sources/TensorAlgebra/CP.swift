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
  var grams = factors.map(gramMatrix)
  // Mode 0's MTTKRP contracts mode 1 by GEMM, from a copy with mode 1 first (see `mttkrp`).
  let byModeOneAxes = [1, 0] + Array(2..<order)
  let byModeOne = tensor.transposed(byModeOneAxes)
  var lambda = [Double](repeating: 1, count: r)
  var previous = Double.infinity
  var error = 1.0
  var sweeps = 0
  var converged = false

  while sweeps < options.maxSweeps {
    sweeps += 1
    var lastMTTKRP = [Float]()
    for n in 0..<order {
      let m = n == 0  // [Iₙ, R]
        ? mttkrp(byModeOne, axes: byModeOneAxes, factors: factors, mode: 0)
        : mttkrp(tensor, axes: Array(0..<order), factors: factors, mode: n)
      var v = [Double](repeating: 1, count: r * r)
      for k in 0..<order where k != n { for e in 0..<(r * r) { v[e] *= grams[k][e] } }
      var a = try solveSymmetric(v, rank: r, rightHandSides: m, rows: shape[n])
      // Normalise the columns into λ.
      let rows = shape[n]
      for col in 0..<r {
        var s = 0.0
        for row in 0..<rows { let x = Double(a[row * r + col]); s += x * x }
        let norm = s.squareRoot()
        lambda[col] = norm
        if norm > 0 { let inv = Float(1 / norm); for row in 0..<rows { a[row * r + col] *= inv } }
      }
      factors[n] = Tensor(shape: [rows, r], scalars: a)
      grams[n] = gramMatrix(factors[n])
      if n == order - 1 { lastMTTKRP = m }
    }
    // Cheap error: ‖X̂‖² = λᵀ(⊛ₖ AₖᵀAₖ)λ, ⟨X, X̂⟩ = Σᵣ λᵣ Σᵢ MTTKRP[i, r]·A_{N−1}[i, r].
    var hadamard = [Double](repeating: 1, count: r * r)
    for k in 0..<order { for e in 0..<(r * r) { hadamard[e] *= grams[k][e] } }
    var modelSquared = 0.0
    for p in 0..<r { for q in 0..<r { modelSquared += lambda[p] * hadamard[p * r + q] * lambda[q] } }
    var inner = 0.0
    let last = factors[order - 1].scalars
    for row in 0..<shape[order - 1] {
      for col in 0..<r { inner += lambda[col] * Double(lastMTTKRP[row * r + col]) * Double(last[row * r + col]) }
    }
    error = max(0, (normSquared - 2 * inner + modelSquared) / normSquared).squareRoot()
    if error < 1e-2 {
      error = relativeDistance(folded(factors, lambda).reconstruct(), tensor)
    }
    if abs(previous - error) < options.tolerance || error < 1e-7 {
      converged = true
      break
    }
    previous = error
  }
  return CPFit(factors: folded(factors, lambda), relativeError: error, sweeps: sweeps, converged: converged)
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

/// AᵀA in `Double`, `[R, R]` row-major.
private func gramMatrix(_ a: Tensor) -> [Double] {
  let i = a.shape[0]
  let r = a.shape[1]
  let ad = a.scalars.map(Double.init)
  var g = [Double](repeating: 0, count: r * r)
  ad.withUnsafeBufferPointer { p in
    g.withUnsafeMutableBufferPointer { q in
      dgemm(transposeA: true, transposeB: false, m: r, n: r, k: i, a: p.baseAddress!, lda: r, b: p.baseAddress!, ldb: r, c: q.baseAddress!, ldc: r)
    }
  }
  return g
}

/// X = B · V⁻¹ for symmetric positive semi-definite `v` `[R, R]` and `b` `[rows, R]`, by Cholesky
/// (`dposv`), or by the eigenvalue pseudo-inverse (`dsyevd`, cut at 1e-12·λmax) when singular.
private func solveSymmetric(_ v: [Double], rank r: Int, rightHandSides b: [Float], rows: Int) throws -> [Float] {
  // Column-major B is R × rows with leading dimension R: exactly the row-major [rows, R] buffer.
  var x = b.map(Double.init)
  var a = v
  let info = LAPACKE_dposv(
    LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), LapackInt(r), LapackInt(rows), &a, LapackInt(r), &x, LapackInt(r))
  if info == 0 { return x.map(Float.init) }
  if info < 0 { throw DecompositionError.lapackFailure(routine: "dposv", info: Int(info)) }
  var q = v
  var w = [Double](repeating: 0, count: r)
  let e = LAPACKE_dsyevd(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "L")), LapackInt(r), &q, LapackInt(r), &w)
  if e != 0 { throw DecompositionError.lapackFailure(routine: "dsyevd", info: Int(e)) }
  let cut = 1e-12 * (w.max() ?? 0)
  // pinv = Q diag(1/w) Qᵀ (q column-major: column j at q[j·r ..< (j+1)·r]).
  var pinv = [Double](repeating: 0, count: r * r)
  for j in 0..<r where w[j] > cut {
    let inv = 1 / w[j]
    for p in 0..<r { for s in 0..<r { pinv[p * r + s] += q[j * r + p] * inv * q[j * r + s] } }
  }
  let bd = b.map(Double.init)
  var out = [Double](repeating: 0, count: rows * r)
  bd.withUnsafeBufferPointer { pb in
    pinv.withUnsafeBufferPointer { pp in
      out.withUnsafeMutableBufferPointer { po in
        dgemm(transposeA: false, transposeB: false, m: rows, n: r, k: r, a: pb.baseAddress!, lda: r, b: pp.baseAddress!, ldb: r, c: po.baseAddress!, ldc: r)
      }
    }
  }
  return out.map(Float.init)
}

/// The matricised-tensor-times-Khatri–Rao product for `mode`, `[Iₙ, R]` row-major.
///
/// Mode 0 is contracted by a GEMM (mode 1 when `mode == 0`, through a transposed copy) into
/// `[R, …]`, so the intermediate has R·count/I₀ (or R·count/I₁) entries; the other modes
/// except `mode` are contracted by rank-wise reductions, largest first.
func mttkrp(_ x: Tensor, factors: [Tensor], mode n: Int) -> [Float] {
  if n != 0 { return mttkrp(x, axes: Array(0..<x.shape.count), factors: factors, mode: n) }
  let axes = [1, 0] + Array(2..<x.shape.count)
  return mttkrp(x.transposed(axes), axes: axes, factors: factors, mode: 0)
}

/// As `mttkrp(_:factors:mode:)` for a tensor stored with its axes in `axes` order (axis k of `x`
/// is mode `axes[k]`); `axes[0]`, contracted by the GEMM, must differ from `mode`.
func mttkrp(_ x: Tensor, axes: [Int], factors: [Tensor], mode n: Int) -> [Float] {
  precondition(axes[0] != n)
  let r = factors[0].shape[1]
  let size = x.shape[axes.firstIndex(of: n)!]
  let t = matmul(factors[axes[0]], x.reshaped([x.shape[0], x.count / x.shape[0]]), transposeA: true)
  var modes = Array(axes.dropFirst())
  var dims = Array(x.shape.dropFirst())
  var data = t.scalars
  while modes.count > 1 {
    // Contract the largest remaining mode other than n.
    var p = -1
    for (k, m) in modes.enumerated() where m != n && (p < 0 || dims[k] > dims[p]) { p = k }
    let a = factors[modes[p]].scalars
    let pre = dims[..<p].reduce(1, *)
    let d = dims[p]
    let post = dims[(p + 1)...].reduce(1, *)
    var out = [Float](repeating: 0, count: r * pre * post)
    data.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        for rr in 0..<r {
          for b in 0..<pre {
            let o = (rr * pre + b) * post
            for i in 0..<d {
              let w = a[i * r + rr]
              let s = ((rr * pre + b) * d + i) * post
              for c in 0..<post { dst[o + c] += w * src[s + c] }
            }
          }
        }
      }
    }
    data = out
    modes.remove(at: p)
    dims.remove(at: p)
  }
  // data is [R, Iₙ]; return [Iₙ, R].
  return Tensor(shape: [r, size], scalars: data).transposed([1, 0]).scalars
}
