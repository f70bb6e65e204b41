/// The result of `cp(_:rank:options:)`.
public struct CPFit: Sendable, Equatable {
  /// The factors after the last sweep, λ folded into `factors[0]`.
  public var factors: CPFactors
  /// ‖X − X̂‖F / ‖X‖F of `factors`.
  public var relativeError: Double
  /// ALS sweeps run.
  public var sweeps: Int
  /// Whether the tolerance was met before the sweep cap.
  public var converged: Bool
}
