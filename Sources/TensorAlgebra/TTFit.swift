/// The result of `tensorTrain(_:ranks:)`.
public struct TTFit: Sendable, Equatable {
  /// The TT cores.
  public var factors: TTFactors
  /// ‖X − X̂‖F / ‖X‖F, measured on the reconstruction (0 when X = 0).
  public var relativeError: Double
}
