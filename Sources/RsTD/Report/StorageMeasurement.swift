import Foundation

/// What the storage allocation measured under `--weights` with a storage bound (report key
/// `measurement.storage`, docs/cli.md): the original model with only its weights' storage
/// changed, run beside the original on the check inputs.
public struct StorageMeasurement: Codable, Equatable, Sendable {
  /// The output error storage alone may cause (`--storage-error`).
  public var bound: Double
  /// The error with every eligible weight stored as asked.
  public var allStoredError: Double
  /// The error with the weights in `kept` left float32: at most `bound`.
  public var storedError: Double
  /// Weights stored as asked.
  public var weightsStored: Int
  /// Weights kept float32, with the output error each one's storage alone caused.
  public var kept: [String: Double]
  /// Model runs the allocation cost (the original's included).
  public var modelRuns: Int
  /// How the weights were probed when too many to probe each alone (the `kept` errors are then
  /// shares of a group's measured error); nil when each was probed alone.
  public var probing: String? = nil

  private enum CodingKeys: String, CodingKey {
    case bound, allStoredError, storedError, weightsStored, kept, modelRuns, probing
  }

  /// Every key, `probing` as null when absent (the report's keys are always present).
  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(bound, forKey: .bound)
    try c.encode(allStoredError, forKey: .allStoredError)
    try c.encode(storedError, forKey: .storedError)
    try c.encode(weightsStored, forKey: .weightsStored)
    try c.encode(kept, forKey: .kept)
    try c.encode(modelRuns, forKey: .modelRuns)
    try c.encode(probing, forKey: .probing)
  }

  /// One line for the end of the report table.
  public var summary: String {
    var line = "weight storage alone: output error \(OutputMeasurement.format(storedError)) (bound \(bound))"
    if !kept.isEmpty {
      line += "; \(kept.count) of \(kept.count + weightsStored) weights kept float32 (all stored: \(OutputMeasurement.format(allStoredError)))"
    }
    if let probing { line += "; \(probing)" }
    return line + ", \(modelRuns) model runs"
  }
}
