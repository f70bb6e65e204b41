/// The result of `kron(_:outputSplit:inputSplit:rank:outputPermutation:inputPermutation:)`.
public struct KronFit: Sendable, Equatable {
  /// The R Kronecker terms.
  public var factors: KronFactors
  /// ‖W' − Ŵ'‖F / ‖W'‖F, from the discarded singular values (equal to the error against W
  /// once the permutations are undone).
  public var relativeError: Double
  /// Every singular value of the rearranged matrix, for planning R.
  public var singularValues: [Float]
}
