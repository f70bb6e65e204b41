/// The written model's output error on held-out samples: inputs that no fit, probe or bound
/// saw. The check's own error is measured on the inputs the factors and ranks were chosen on,
/// so with few of them it is optimistic (docs/calibration.md, "How many samples"); this one
/// is not.
public struct HeldOutMeasurement: Codable, Equatable, Sendable {
  /// Held-out samples run.
  public var samples: Int
  /// Largest relative output error over the outputs (`OutputDifference`); nil when the
  /// written model did not run on them.
  public var outputError: Double?
  /// The same per output.
  public var outputErrors: [String: Double]?

  public init(samples: Int, outputError: Double?, outputErrors: [String: Double]?) {
    self.samples = samples
    self.outputError = outputError.flatMap { $0.isFinite ? $0 : nil }
    self.outputErrors = outputErrors?.compactMapValues { $0.isFinite ? $0 : nil }
  }

  private enum CodingKeys: String, CodingKey { case samples, outputError, outputErrors }

  /// Encodes every key, absent values as null.
  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(samples, forKey: .samples)
    try c.encode(outputError, forKey: .outputError)
    try c.encode(outputErrors, forKey: .outputErrors)
  }

  /// One line for the end of the report table.
  var summary: String {
    "held-out output error \(outputError.map(OutputMeasurement.format) ?? "∞ (did not run)") on \(samples) sample(s)"
  }
}
