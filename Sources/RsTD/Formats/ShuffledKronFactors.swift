import TensorAlgebra

/// The factors of a shuffled Kronecker fit and the channel splits and permutations they assume.
struct ShuffledKronFactors {
  var factors: KronFactors
  var layout: KronLayout
}
