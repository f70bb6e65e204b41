/// The result of `tucker2(_:ranks:options:)`.
public struct Tucker2Fit: Sendable, Equatable {
  /// The best factors seen (never worse than the HOSVD start).
  public var factors: Tucker2Factors
  /// ‖W − Ŵ‖F / ‖W‖F of `factors`.
  public var relativeError: Double
  /// HOOI sweeps run.
  public var sweeps: Int
  /// The relative error after each step: `[0]` is the (sequentially truncated) HOSVD start,
  /// `[s]` after sweep s.
  public var errors: [Double]
}
