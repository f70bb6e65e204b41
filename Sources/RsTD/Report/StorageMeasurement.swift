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

  /// One line for the end of the report table.
  public var summary: String {
    var line = "weight storage alone: output error \(OutputMeasurement.format(storedError)) (bound \(bound))"
    if !kept.isEmpty {
      line += "; \(kept.count) of \(kept.count + weightsStored) weights kept float32 (all stored: \(OutputMeasurement.format(allStoredError)))"
    }
    return line + ", \(modelRuns) model runs"
  }
}
