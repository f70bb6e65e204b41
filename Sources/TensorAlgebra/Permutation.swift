/// A seeded permutation of `0..<count` by Fisher–Yates over `SplitMix64(seed:)`.
///
/// `p` starts as the identity; for `i` from `count − 1` down to 1:
/// `j = Int(next() % UInt64(i + 1))`, swap `p[i]` and `p[j]`. The modulo bias is part of the
/// specification (docs/shuffles.md), so any language reproduces the same permutation.
///
/// - Parameters:
///   - count: The number of elements (0 and 1 give the identity).
///   - seed: The generator's seed.
/// - Returns: A permutation of `0..<count`.
/// - Complexity: O(count).
public func seededPermutation(count: Int, seed: UInt64) -> [Int] {
  var generator = SplitMix64(seed: seed)
  return seededPermutation(count: count, using: &generator)
}

/// Fisher–Yates as in `seededPermutation(count:seed:)`, continuing an existing generator.
func seededPermutation(count: Int, using generator: inout SplitMix64) -> [Int] {
  var p = Array(0..<count)
  if count < 2 { return p }
  for i in stride(from: count - 1, through: 1, by: -1) {
    let j = Int(generator.next() % UInt64(i + 1))
    p.swapAt(i, j)
  }
  return p
}

/// The inverse permutation `q` with `q[p[i]] = i`.
///
/// - Parameter p: A permutation of `0..<p.count`.
/// - Returns: Its inverse.
/// - Complexity: O(p.count).
public func inversePermutation(_ p: [Int]) -> [Int] {
  var q = [Int](repeating: 0, count: p.count)
  for (i, v) in p.enumerated() { q[v] = i }
  return q
}

/// Whether `p` is a permutation of `0..<p.count`.
func isPermutation(_ p: [Int]) -> Bool {
  var seen = [Bool](repeating: false, count: p.count)
  for v in p {
    if v < 0 || v >= p.count || seen[v] { return false }
    seen[v] = true
  }
  return true
}
