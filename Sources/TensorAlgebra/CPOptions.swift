/// Stopping rules for `cp(_:rank:options:)`.
public struct CPOptions: Sendable, Equatable {
  /// Stop (converged) when a sweep changes the relative error by less than this. Default 1e-6.
  public var tolerance: Double
  /// At most this many ALS sweeps (one sweep updates every factor once). Default 100, as
  /// TensorLy's `parafac`.
  public var maxSweeps: Int

  /// Creates options.
  ///
  /// - Parameters:
  ///   - tolerance: The smallest error change worth another sweep (default 1e-6).
  ///   - maxSweeps: The sweep cap (default 100).
  public init(tolerance: Double = 1e-6, maxSweeps: Int = 100) {
    self.tolerance = tolerance
    self.maxSweeps = maxSweeps
  }
}
