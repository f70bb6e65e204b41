/// Stopping rules for the HOOI sweeps of `tucker2(_:ranks:options:)`.
public struct Tucker2Options: Sendable, Equatable {
  /// Stop when a sweep lowers the relative error by less than this. Default 1e-4, TensorLy's
  /// `partial_tucker` default, so both stop at the same point.
  public var tolerance: Double
  /// At most this many HOOI sweeps after the HOSVD start. Default 20; 0 returns the HOSVD.
  public var maxSweeps: Int

  /// Creates options.
  ///
  /// - Parameters:
  ///   - tolerance: The smallest error decrease worth another sweep (default 1e-4).
  ///   - maxSweeps: The sweep cap (default 20; 0 means HOSVD only).
  public init(tolerance: Double = 1e-4, maxSweeps: Int = 20) {
    self.tolerance = tolerance
    self.maxSweeps = maxSweeps
  }
}
