/// The result of `lowRankSVD(_:rank:)`.
public struct SVDFit: Sendable, Equatable {
  /// The rank-r factors.
  public var factors: SVDFactors
  /// ‖W − Ŵ‖F / ‖W‖F, from the discarded singular values (0 when W = 0).
  public var relativeError: Double
  /// Every singular value of the unfolding, non-increasing, so callers can plan other ranks.
  public var singularValues: [Float]
}
