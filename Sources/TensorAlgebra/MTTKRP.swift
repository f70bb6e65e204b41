/// The matricised-tensor-times-Khatri–Rao product of one mode, planned once per decomposition.
///
/// The stored tensor's first axis is contracted by a GEMM into `[R, …]` (so the intermediate has
/// R·count/I₀ entries); the other modes except `mode` are contracted by rank-wise reductions,
/// largest first. CP-ALS runs the same plans every sweep on preallocated buffers: the small
/// arrays, shapes and transposes a sweep used to allocate cost as much as its arithmetic.
struct MTTKRPPlan {
  /// One rank-wise reduction: `[R, pre, d, post] → [R, pre, post]` against factor `factor`.
  struct Reduction {
    let factor: Int, pre: Int, d: Int, post: Int
  }

  /// The mode n and its size Iₙ.
  let mode: Int
  let size: Int
  /// The factor the GEMM contracts (the stored tensor's first axis), and that axis's size.
  let gemmFactor: Int
  let leading: Int
  /// Entries per slice of the stored tensor's first axis.
  let rest: Int
  let reductions: [Reduction]

  /// The plan for a tensor of `shape` stored with its axes in `axes` order (axis k is mode
  /// `axes[k]`); `axes[0]`, contracted by the GEMM, must differ from `mode`.
  init(shape: [Int], axes: [Int], mode n: Int) {
    precondition(axes[0] != n)
    mode = n
    size = shape[axes.firstIndex(of: n)!]
    gemmFactor = axes[0]
    leading = shape[0]
    rest = shape.dropFirst().reduce(1, *)
    var modes = Array(axes.dropFirst())
    var dims = Array(shape.dropFirst())
    var steps: [Reduction] = []
    while modes.count > 1 {
      // Contract the largest remaining mode other than n (the first of equals).
      var p = -1
      for (k, m) in modes.enumerated() where m != n && (p < 0 || dims[k] > dims[p]) { p = k }
      steps.append(Reduction(factor: modes[p], pre: dims[..<p].reduce(1, *), d: dims[p], post: dims[(p + 1)...].reduce(1, *)))
      modes.remove(at: p)
      dims.remove(at: p)
    }
    reductions = steps
  }

  /// Entries each scratch buffer of `run` needs.
  func scratchCount(rank r: Int) -> Int { r * rest }

  /// Writes the MTTKRP, `[Iₙ, R]` row-major, into `out`.
  /// - Parameters:
  ///   - x: The stored tensor.
  ///   - factors: Factor m as `[Iₘ, R]` row-major.
  ///   - scratch: Two buffers of `scratchCount(rank:)` entries each; overwritten.
  func run(
    _ x: UnsafePointer<Float>, factors: [UnsafeMutablePointer<Float>], rank r: Int,
    scratch: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>), into out: UnsafeMutablePointer<Float>
  ) {
    var (src, dst) = scratch
    // [R, rest] = Aᵀ · X as [leading, rest].
    sgemm(
      transposeA: true, transposeB: false, m: r, n: rest, k: leading,
      a: factors[gemmFactor], lda: r, b: x, ldb: rest, c: src, ldc: rest)
    for step in reductions {
      let a = UnsafePointer(factors[step.factor])
      let (pre, d, post) = (step.pre, step.d, step.post)
      // Each output is summed from 0 in the order of i, a product then a sum per term (the bits
      // of the array loop this replaced). The sums run in registers, four outputs at a time
      // (the lanes of a SIMD4, each lane its own sum in the same order), so the additions
      // neither wait on each other nor go through memory: contiguous outputs when post ≥ 4,
      // else any four outputs in order, their terms gathered.
      for rr in 0..<r {
        let w = a + rr  // w[i·R] is A[i, rr]
        let from = src + rr &* pre &* d &* post
        let to = dst + rr &* pre &* post
        if post >= 4 {
          // to[b, c] = Σᵢ A[i, rr]·from[b, i, c]
          for b in 0..<pre {
            let o = to + b &* post
            let x = from + b &* d &* post
            var c = 0
            while c &+ 4 <= post {
              var sum = SIMD4<Float>(repeating: 0)
              for i in 0..<d {
                sum += UnsafeRawPointer(x + (i &* post &+ c)).loadUnaligned(as: SIMD4<Float>.self) * w[i &* r]
              }
              UnsafeMutableRawPointer(o + c).storeBytes(of: sum, as: SIMD4<Float>.self)
              c &+= 4
            }
            while c < post {
              var sum: Float = 0
              for i in 0..<d { sum += w[i &* r] * x[i &* post &+ c] }
              o[c] = sum
              c &+= 1
            }
          }
        } else {
          // Output j = b·post + c starts at from[b·d·post + c], its terms post apart.
          let count = pre &* post
          var j = 0, b = 0, c = 0
          func next() -> Int {
            let start = b &* d &* post &+ c
            c &+= 1
            if c == post { c = 0; b &+= 1 }
            return start
          }
          while j &+ 4 <= count {
            let (s0, s1, s2, s3) = (next(), next(), next(), next())
            var sum = SIMD4<Float>(repeating: 0)
            for i in 0..<d {
              let x = from + i &* post
              sum += SIMD4(x[s0], x[s1], x[s2], x[s3]) * w[i &* r]
            }
            UnsafeMutableRawPointer(to + j).storeBytes(of: sum, as: SIMD4<Float>.self)
            j &+= 4
          }
          while j < count {
            let x = from + next()
            var sum: Float = 0
            for i in 0..<d { sum += w[i &* r] * x[i &* post] }
            to[j] = sum
            j &+= 1
          }
        }
      }
      swap(&src, &dst)
    }
    // src is [R, Iₙ].
    for i in 0..<size {
      for rr in 0..<r { out[i * r + rr] = src[rr * size + i] }
    }
  }
}

/// The MTTKRP of `x` for `mode`, `[Iₙ, R]` row-major (see `MTTKRPPlan`); mode 0 contracts
/// mode 1 by the GEMM, through a transposed copy.
func mttkrp(_ x: Tensor, factors: [Tensor], mode n: Int) -> [Float] {
  if n != 0 { return mttkrp(x, axes: Array(0..<x.shape.count), factors: factors, mode: n) }
  let axes = [1, 0] + Array(2..<x.shape.count)
  return mttkrp(x.transposed(axes), axes: axes, factors: factors, mode: 0)
}

/// As `mttkrp(_:factors:mode:)` for a tensor stored with its axes in `axes` order.
func mttkrp(_ x: Tensor, axes: [Int], factors: [Tensor], mode n: Int) -> [Float] {
  let plan = MTTKRPPlan(shape: x.shape, axes: axes, mode: n)
  let r = factors[0].shape[1]
  let held = factors.map { f in
    let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, f.count))
    f.scalars.withUnsafeBufferPointer { if let b = $0.baseAddress { p.initialize(from: b, count: f.count) } }
    return p
  }
  let count = max(1, plan.scratchCount(rank: r))
  let s0 = UnsafeMutablePointer<Float>.allocate(capacity: count)
  let s1 = UnsafeMutablePointer<Float>.allocate(capacity: count)
  defer {
    held.forEach { $0.deallocate() }
    s0.deallocate()
    s1.deallocate()
  }
  var out = [Float](repeating: 0, count: plan.size * r)
  x.scalars.withUnsafeBufferPointer { px in
    out.withUnsafeMutableBufferPointer { po in
      plan.run(px.baseAddress!, factors: held, rank: r, scratch: (s0, s1), into: po.baseAddress!)
    }
  }
  return out
}
