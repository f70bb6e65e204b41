/// Channel splits and permutations of a shuffled Kronecker factorization.
struct KronLayout {
  /// M = c1 · c2.
  var outputSplit: (Int, Int)
  /// C = a1 · a2.
  var inputSplit: (Int, Int)
  var outputPermutation: [Int]
  var inputPermutation: [Int]
}
