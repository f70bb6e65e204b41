import XCTest
@testable import TensorAlgebra

final class ShuffleTests: XCTestCase {
  func testSplitMix64MatchesReference() {
    var g = SplitMix64(seed: 0)
    XCTAssertEqual((0..<3).map { _ in g.next() }, ShuffleGolden.splitMix0)
    var h = SplitMix64(seed: 1234567)
    XCTAssertEqual((0..<3).map { _ in h.next() }, ShuffleGolden.splitMix1234567)
  }

  func testSeededPermutationGoldenValuesAndInverse() {
    XCTAssertEqual(seededPermutation(count: 10, seed: 42), ShuffleGolden.permutation10Seed42)
    XCTAssertEqual(seededPermutation(count: 16, seed: 7), ShuffleGolden.permutation16Seed7)
    XCTAssertEqual(seededPermutation(count: 1, seed: 3), [0])
    XCTAssertEqual(seededPermutation(count: 0, seed: 3), [])
    let p = seededPermutation(count: 100, seed: 9)
    let q = inversePermutation(p)
    XCTAssertEqual((0..<100).map { q[p[$0]] }, Array(0..<100))
    XCTAssertEqual((0..<100).map { p[q[$0]] }, Array(0..<100))
  }

  func testEntryShuffleGoldenValues() {
    let s = EntryShuffle(shape: [4, 3, 2, 2], seed: 99)
    XCTAssertEqual(s.steps, [
      .affine(multiplier: 37, offset: 23), .transpose(dims: [4, 3, 2, 2], permutation: [3, 2, 1, 0]),
      .affine(multiplier: 19, offset: 14), .transpose(dims: [4, 3, 2, 2], permutation: [1, 3, 2, 0]),
      .affine(multiplier: 13, offset: 19), .transpose(dims: [4, 3, 2, 2], permutation: [1, 0, 3, 2]),
    ])
    XCTAssertEqual(s.gatherIndices(), ShuffleGolden.gather4x3x2x2Seed99)
    let big = EntryShuffle(shape: [16, 8, 3, 3], seed: 5).gatherIndices()
    XCTAssertEqual(Array(big.prefix(12)), ShuffleGolden.gather16x8x3x3Seed5Prefix)
    XCTAssertEqual(big.enumerated().reduce(0) { $0 + $1.offset * $1.element }, ShuffleGolden.gather16x8x3x3Seed5Checksum)
  }

  /// The indices by the definition: `(a·g + b) mod N` by 64-bit division, transposes by a
  /// division per axis and entry.
  private func referenceGatherIndices(_ s: EntryShuffle) -> [Int] {
    let n = s.count
    var g = Array(0..<n)
    for step in s.steps {
      switch step {
      case let .affine(a, b): g = g.map { (a * $0 + b) % n }
      case let .transpose(dims, perm):
        let out = perm.map { dims[$0] }
        func strides(_ d: [Int]) -> [Int] { (0..<d.count).map { d[($0 + 1)...].reduce(1, *) } }
        let si = strides(dims), so = strides(out)
        g = (0..<n).map { o in g[out.indices.reduce(0) { $0 + (o / so[$1]) % out[$1] * si[perm[$1]] }] }
      }
    }
    return g
  }

  /// Affine steps below `reciprocalLimit` entries take the reciprocal remainder, larger N up to
  /// `doubleQuotientLimit` a Double quotient corrected by one; negative multipliers or offsets,
  /// and what follows them, the 64-bit division: the same indices.
  func testGatherIndicesMatchTheDefinitionEitherSideOfTheReciprocalLimit() {
    XCTAssertEqual(EntryShuffle.reciprocalLimit, 65_535)
    XCTAssertEqual(EntryShuffle.doubleQuotientLimit, 1 << 26)
    for shape in [[3], [4, 3, 2, 2], [16, 16, 3, 3], [255, 257], [256, 256], [2], [1], [100, 7, 11, 13], [257, 64, 3, 3]] {
      for seed: UInt64 in [1, 77] {
        let s = EntryShuffle(shape: shape, seed: seed)
        XCTAssertEqual(s.gatherIndices(), referenceGatherIndices(s), "\(shape) seed \(seed)")
      }
    }
    let n = 16 * 9
    for steps: [EntryShuffle.Step] in [
      [.affine(multiplier: -5, offset: 3), .affine(multiplier: 7, offset: 2)],  // negative remainders, then the 64-bit path
      [.affine(multiplier: 5, offset: -140), .transpose(dims: [16, 9], permutation: [1, 0]), .affine(multiplier: 11, offset: 0)],
      [.affine(multiplier: n + 5, offset: 2 * n + 1)],  // a, b beyond N
      [.affine(multiplier: 143, offset: 143), .transpose(dims: [16, 9], permutation: [1, 0])],  // a, b = N − 1
    ] {
      let s = EntryShuffle(shape: [16, 9], steps: steps)
      XCTAssertEqual(s.gatherIndices(), referenceGatherIndices(s), "\(steps)")
    }
    // Above the reciprocal limit: the largest dividends (a, b = N − 1) and exact multiples of N.
    let m = 100_003
    for steps: [EntryShuffle.Step] in [
      [.affine(multiplier: m - 1, offset: m - 1), .affine(multiplier: m - 2, offset: 1)],
      [.affine(multiplier: 1, offset: 0), .affine(multiplier: 2, offset: m - 1)],
    ] {
      let s = EntryShuffle(shape: [m], steps: steps)
      XCTAssertEqual(s.gatherIndices(), referenceGatherIndices(s), "\(steps)")
    }
  }

  func testEntryShuffleInvertsExactly() {
    var g = NormalGenerator(seed: 30)
    for shape in [[16, 8, 3, 3], [5, 7], [1, 4, 1, 1], [2, 1], [1], [6, 1, 3]] {
      let w = g.tensor(shape)
      let s = EntryShuffle(shape: shape, seed: 11)
      let shuffled = s.shuffle(w)
      XCTAssertEqual(s.unshuffle(shuffled), w, "\(shape)")
      let indices = s.gatherIndices()
      XCTAssertEqual(indices.sorted(), Array(0..<w.count), "\(shape): g must be a permutation")
      XCTAssertEqual(EntryShuffle(shape: shape, seed: 11), s, "same seed, same shuffle")
    }
  }

  func testEntryShuffleMixesRankOneKernel() throws {
    var g = NormalGenerator(seed: 31)
    let w = Tensor.randomCP(shape: [16, 8, 3, 3], rank: 1, using: &g)
    let before = try lowRankSVD(w, rank: 1)
    XCTAssertLessThan(before.relativeError, 1e-5)
    let shuffled = EntryShuffle(shape: w.shape, seed: 2024).shuffle(w)
    let spectrum = try singularValueDecomposition(shuffled.unfolded(mode: 0)).singularValues
    // Numerical rank: singular values above 1e-3·σ₁ (far above Float32 noise ~1e-6·σ₁).
    let numericalRank = spectrum.filter { $0 > 1e-3 * spectrum[0] }.count
    XCTAssertGreaterThanOrEqual(numericalRank, 15, "mode-0 rank after shuffle: \(numericalRank) of 16")
    // And no low-rank shortcut: rank 1 leaves most of the energy.
    XCTAssertGreaterThan(try lowRankSVD(shuffled, rank: 1).relativeError, 0.5)
  }

  /// Gather indices are cached by shuffle: an equal shuffle built anew gets the same indices, a
  /// different one its own, and the cache empties itself rather than grow past its bound.
  func testGatherIndicesAreCachedByShuffle() {
    let a = EntryShuffle(shape: [4, 3, 3, 3], seed: 11)
    let b = EntryShuffle(shape: [4, 3, 3, 3], seed: 12)
    let ga = a.gatherIndices(), gb = b.gatherIndices()
    XCTAssertNotEqual(ga, gb)
    XCTAssertEqual(Set(ga), Set(0..<a.count))
    XCTAssertEqual(EntryShuffle(shape: a.shape, steps: a.steps).gatherIndices(), ga)
    XCTAssertEqual(a.gatherIndices(), ga)
    // The indices are the steps applied to 0..<N, written out here without the cache.
    var g = Array(0..<a.count)
    for step in a.steps {
      switch step {
      case let .affine(m, o): g = g.map { (m * $0 + o) % a.count }
      case let .transpose(dims, p): g = transposeSources(shape: dims, permutation: p).map { g[$0] }
      }
    }
    XCTAssertEqual(ga, g)

    var cache = GatherIndexCache()
    let quarter = GatherIndexCache.indexLimit / 4
    let shuffles = (0..<6).map { EntryShuffle(shape: [quarter], seed: UInt64($0)) }
    for s in shuffles.prefix(4) { cache.store(Array(0..<quarter), for: s) }
    XCTAssertNotNil(cache.lookup(shuffles[0]))
    cache.store(Array(0..<quarter), for: shuffles[4])
    XCTAssertNil(cache.lookup(shuffles[0]), "over the bound the oldest entry leaves")
    for s in shuffles[1...4] { XCTAssertNotNil(cache.lookup(s), "the newer entries stay") }
    let half = GatherIndexCache.indexLimit / 2
    cache.store(Array(0..<half), for: EntryShuffle(shape: [half], seed: 0))
    XCTAssertNil(cache.lookup(shuffles[2]), "as many of the oldest leave as make room")
    XCTAssertNotNil(cache.lookup(shuffles[3]))
    XCTAssertNotNil(cache.lookup(EntryShuffle(shape: [half], seed: 0)))
    cache.store(Array(0...half), for: EntryShuffle(shape: [half + 1], seed: 0))
    XCTAssertNil(cache.lookup(EntryShuffle(shape: [half + 1], seed: 0)), "too large to keep")
    cache.removeAll()
    XCTAssertNil(cache.lookup(shuffles[4]))
  }
}
