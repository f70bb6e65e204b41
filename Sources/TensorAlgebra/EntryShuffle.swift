import Synchronization

/// A seeded permutation of all N entries of a kernel, computable in-graph from O(1) integers.
///
/// The permutation is given by gather indices g (a permutation of `0..<N`) built from the
/// identity by `steps`, in order:
/// - `.affine(a, b)`: every value becomes `(a·g + b) mod N` (a bijection since gcd(a, N) = 1);
/// - `.transpose(dims, p)`: `g = flatten(numpy.transpose(reshape(g, dims), p))`.
///
/// The graph computes `ŵ_flat = Gather(ŝ_flat, g)` with ONNX Range/Mul/Add/Mod/Reshape/
/// Transpose, so only the steps' integers are stored. docs/shuffles.md specifies it with a numpy
/// reference.
public struct EntryShuffle: Sendable, Hashable {
  /// One index transformation.
  public enum Step: Sendable, Hashable {
    /// `g ← (multiplier·g + offset) mod N`, elementwise on values; gcd(multiplier, N) = 1.
    case affine(multiplier: Int, offset: Int)
    /// `g ← flatten(transpose(reshape(g, dims), permutation))`; `dims` multiply to N.
    case transpose(dims: [Int], permutation: [Int])
  }

  /// The kernel shape the shuffle applies to.
  public let shape: [Int]
  /// The transformations, applied in order to the identity.
  public let steps: [Step]

  /// The shuffle drawn from `SplitMix64(seed: seed)`.
  ///
  /// Each of `rounds` rounds draws, from the one generator:
  /// 1. if N ≥ 3, an affine step: `a = 2 + next() % (N − 2)`, redrawn until gcd(a, N) = 1 (so
  ///    1 < a < N), then `b = next() % N`; no affine step when N < 3;
  /// 2. if `shape` has at least two axes of size > 1, a transpose with `dims = shape` and
  ///    `permutation = ` Fisher–Yates over `0..<shape.count` (as `seededPermutation`,
  ///    continuing the generator), redrawn until the axes of size > 1 change relative order.
  ///
  /// - Parameters:
  ///   - shape: The kernel shape.
  ///   - seed: The generator's seed.
  ///   - rounds: The number of rounds (default 3).
  /// - Complexity: O(rounds · shape.count) expected draws.
  public init(shape: [Int], seed: UInt64, rounds: Int = 3) {
    let n = shape.reduce(1, *)
    var g = SplitMix64(seed: seed)
    var steps: [Step] = []
    let nonUnit = (0..<shape.count).filter { shape[$0] > 1 }
    for _ in 0..<max(rounds, 0) {
      if n >= 3 {
        var a: Int
        repeat { a = 2 + Int(g.next() % UInt64(n - 2)) } while greatestCommonDivisor(a, n) != 1
        let b = Int(g.next() % UInt64(n))
        steps.append(.affine(multiplier: a, offset: b))
      }
      if nonUnit.count >= 2 {
        var p: [Int]
        repeat { p = seededPermutation(count: shape.count, using: &g) } while p.filter({ shape[$0] > 1 }) == nonUnit
        steps.append(.transpose(dims: shape, permutation: p))
      }
    }
    self.init(shape: shape, steps: steps)
  }

  /// A shuffle from explicit steps.
  ///
  /// - Precondition: affine multipliers are coprime with N; transpose dims multiply to N and
  ///   permutations are permutations of their axes.
  public init(shape: [Int], steps: [Step]) {
    let n = shape.reduce(1, *)
    for step in steps {
      switch step {
      case let .affine(a, _):
        precondition(greatestCommonDivisor(a, n) == 1, "multiplier \(a) is not coprime with N = \(n)")
      case let .transpose(dims, p):
        precondition(dims.reduce(1, *) == n, "transpose dims \(dims) do not multiply to N = \(n)")
        precondition(p.count == dims.count && isPermutation(p), "\(p) is not a permutation of \(dims.count) axes")
      }
    }
    self.shape = shape
    self.steps = steps
  }

  /// The number of entries N.
  public var count: Int { shape.reduce(1, *) }

  /// Up to this N an affine step's dividends fit 32 bits (gather indices are computed for every
  /// site, twice: 8,000 small kernels spent ≈ 1.4 s CPU in 64-bit divisions).
  static let reciprocalLimit = 65_535
  /// Up to this N an affine step's dividends (below N²) are exact in a Double.
  static let doubleQuotientLimit = 1 << 26

  /// The gather indices g: start from `0..<N`, apply `steps` in order.
  ///
  /// - Returns: A permutation of `0..<N`; the original kernel is `W_flat[i] = S_flat[g[i]]`.
  /// - Complexity: O(N · steps.count), or a lookup when this shuffle was computed recently.
  public func gatherIndices() -> [Int] {
    if let hit = GatherIndexCache.shared.withLock({ $0.lookup(self) }) { return hit }
    let g = computeGatherIndices()
    GatherIndexCache.shared.withLock { $0.store(g, for: self) }
    return g
  }

  /// Drops every cached `gatherIndices()` result (the next call computes again).
  public static func releaseCachedIndices() {
    GatherIndexCache.shared.withLock { $0.removeAll() }
  }

  private func computeGatherIndices() -> [Int] {
    let n = count
    var g = Array(0..<n)
    var inRange = true  // every g in 0..<n
    for step in steps {
      switch step {
      case let .affine(a, b):
        if inRange && 0 < n && n <= Self.reciprocalLimit && (0..<n).contains(a) && (0..<n).contains(b) {
          // g, a, b in 0..<n, so a·g + b ≤ n(n − 1) < 2³²: the remainder by a precomputed
          // reciprocal (Lemire's fastmod, exact for every 32-bit dividend), not a 64-bit
          // division per entry. The result is again in 0..<n.
          let d = UInt64(n), m = UInt64.max / d &+ 1
          g.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = Int((m &* UInt64(a * p[i] + b)).multipliedFullWidth(by: d).high) }
          }
        } else if inRange && n <= Self.doubleQuotientLimit && (0..<n).contains(a) && (0..<n).contains(b) {
          // a·g + b < n² ≤ 2⁵² is exact in a Double, and its quotient by n through the
          // reciprocal is off by at most one (relative error 2⁻⁵²), which the remainder's range
          // check corrects: exact, without a 64-bit division per entry (a 512×512×3×3 kernel's
          // three affine steps spent more CPU than its SVD).
          let inverse = 1.0 / Double(n)
          g.withUnsafeMutableBufferPointer { p in
            for i in p.indices {
              let x = a * p[i] + b
              var r = x - Int(Double(x) * inverse) * n
              if r < 0 { r += n } else if r >= n { r -= n }
              p[i] = r
            }
          }
        } else {
          for i in 0..<n { g[i] = (a * g[i] + b) % n }
          inRange = false  // negative a or b leave negative remainders
        }
      case let .transpose(dims, p):
        g = transposedIndices(g, dims: dims, permutation: p)
      }
    }
    return g
  }

  /// The shuffled kernel S with `S_flat[g[i]] = W_flat[i]`, same shape as `kernel`.
  ///
  /// - Complexity: O(N · steps.count).
  public func shuffle(_ kernel: Tensor) -> Tensor {
    precondition(kernel.shape == shape, "kernel \(kernel.shape) does not match shuffle shape \(shape)")
    var s = [Float](repeating: 0, count: kernel.count)
    for (i, gi) in gatherIndices().enumerated() { s[gi] = kernel.scalars[i] }
    return Tensor(shape: shape, scalars: s)
  }

  /// The original kernel, `W_flat[i] = S_flat[g[i]]` (what the graph's Gather computes).
  ///
  /// - Complexity: O(N · steps.count).
  public func unshuffle(_ shuffled: Tensor) -> Tensor {
    precondition(shuffled.shape == shape, "tensor \(shuffled.shape) does not match shuffle shape \(shape)")
    return Tensor(shape: shape, scalars: gatherIndices().map { shuffled.scalars[$0] })
  }
}

/// `numpy.transpose(reshape(g, dims), permutation).ravel()` on integers.
private func transposedIndices(_ g: [Int], dims: [Int], permutation: [Int]) -> [Int] {
  let sources = TransposeSourceCache.sources(shape: dims, permutation: permutation)
  precondition(sources.count == g.count, "transpose of \(dims) over \(g.count) indices")
  return sources.withUnsafeBufferPointer { s in g.withUnsafeBufferPointer { v in s.map { v[$0] } } }
}

/// `transposeSources` by (shape, permutation): every site of one kernel shape draws from the
/// same few permutations (24 for four axes), so each is computed once, not per site and step
/// (8,000 kernels 16×16×3×3 spent ≈ 0.35 s CPU rebuilding them). Held up to `limit` positions;
/// past it the cache starts again.
struct TransposeSourceCache {
  static let limit = 1 << 20
  private static let shared = Mutex(TransposeSourceCache())
  private var entries: [[Int]: [Int]] = [:]
  private var held = 0

  static func sources(shape: [Int], permutation: [Int]) -> [Int] {
    let key = shape + [-1] + permutation
    if let hit = shared.withLock({ $0.entries[key] }) { return hit }
    let computed = transposeSources(shape: shape, permutation: permutation)
    shared.withLock { cache in
      guard computed.count <= limit / 4 else { return }
      if cache.held + computed.count > limit { (cache.entries, cache.held) = ([:], 0) }
      if cache.entries.updateValue(computed, forKey: key) == nil { cache.held += computed.count }
    }
    return computed
  }
}

/// For `numpy.transpose` of a row-major array of `shape`: the source position of each output
/// position.
func transposeSources(shape: [Int], permutation: [Int]) -> [Int] {
  do {
    let d = shape.count
    var strides = [Int](repeating: 1, count: d)
    for k in stride(from: d - 2, through: 0, by: -1) { strides[k] = strides[k + 1] * shape[k + 1] }
    let outShape = permutation.map { shape[$0] }
    let outStrides = permutation.map { strides[$0] }
    let n = shape.reduce(1, *)
    var out = [Int](repeating: 0, count: n)
    var index = [Int](repeating: 0, count: d)
    var source = 0
    for o in 0..<n {
      out[o] = source
      var k = d - 1
      while k >= 0 {
        index[k] += 1
        source += outStrides[k]
        if index[k] < outShape[k] { break }
        source -= outStrides[k] * outShape[k]
        index[k] = 0
        k -= 1
      }
    }
    return out
  }
}

/// gcd(a, b) ≥ 0 by Euclid.
func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int {
  var (x, y) = (abs(a), abs(b))
  while y != 0 { (x, y) = (y, x % y) }
  return x
}

/// Recently computed gather indices, by shuffle. A site's shuffle is asked for up to three
/// times: two curves while planning, one right after the other, then the fit, after every site
/// is planned. The curves reuse the indices; keeping them until the fit would take all the
/// sites' indices at once (24 kernels 256×256×3×3: 113 MB), so the oldest entries leave first
/// once the stored indices pass the limit (16 MB), and the rewriter empties the cache once its
/// sites are factored.
struct GatherIndexCache {
  static let shared = Mutex(GatherIndexCache())
  static let indexLimit = 1 << 21

  private var entries: [EntryShuffle: [Int]] = [:]
  /// Keys in the order they were stored.
  private var order: [EntryShuffle] = []
  private var oldest = 0
  private var stored = 0

  func lookup(_ s: EntryShuffle) -> [Int]? { entries[s] }

  mutating func removeAll() {
    entries = [:]
    order = []
    oldest = 0
    stored = 0
  }

  mutating func store(_ g: [Int], for s: EntryShuffle) {
    guard g.count <= Self.indexLimit / 2, entries[s] == nil else { return }
    while stored + g.count > Self.indexLimit, oldest < order.count {
      stored -= entries.removeValue(forKey: order[oldest])?.count ?? 0
      oldest += 1
    }
    if oldest > 4_096 && oldest * 2 > order.count {  // drop the departed keys now and then
      order.removeFirst(oldest)
      oldest = 0
    }
    entries[s] = g
    order.append(s)
    stored += g.count
  }
}
