import Foundation

/// What the output check measured: the rewritten model run beside the original (report key
/// `measurement`, docs/cli.md).
public struct OutputMeasurement: Codable, Equatable, Sendable {
  public enum Status: String, Codable, Sendable {
    /// Both models ran; `outputError` is the written model's.
    case measured
    /// The model could not be run (`note` says why); ranks come from weight error alone.
    case unavailable
    /// The check was turned off (`--no-check`).
    case off
  }

  public var status: Status
  /// How the inputs were made (synthetic from the declared shapes, or calibration data).
  public var inputs: String?
  /// The bound the written model is held to, or nil when the check only measures.
  public var bound: Double?
  /// Largest relative output error of the written model (see `OutputDifference`).
  public var outputError: Double?
  /// The same per output.
  public var outputErrors: [String: Double]?
  /// The error with every planned site rewritten, before any was backed off.
  public var plannedError: Double?
  /// Sites kept because the bound could not be met with them rewritten.
  public var sitesBackedOff: Int
  /// Model runs the check cost (original included).
  public var modelRuns: Int
  /// Why the check was unavailable.
  public var note: String?
  /// What the storage allocation measured, under `--weights` with a storage bound.
  public var storage: StorageMeasurement?
  /// Under the calibrated allocation, its estimate √(Σ gᵢ²·dᵢ(rᵢ)²) of the written model's
  /// error (docs/calibration.md); nil otherwise.
  public var estimatedError: Double? = nil
  /// How the ranks were allocated when not by the rank policy alone ("calibrated: …"), or how
  /// the output check's back-off probed sites when too many to probe each alone; nil otherwise.
  public var allocation: String? = nil
  /// The written model's error on held-out samples (`OutputCheck.heldOutFor`); nil without them.
  public var heldOut: HeldOutMeasurement? = nil

  public static func off() -> OutputMeasurement {
    OutputMeasurement(status: .off, sitesBackedOff: 0, modelRuns: 0)
  }

  public static func unavailable(_ why: String) -> OutputMeasurement {
    OutputMeasurement(status: .unavailable, sitesBackedOff: 0, modelRuns: 0, note: why)
  }
}


extension OutputMeasurement {
  private enum CodingKeys: String, CodingKey {
    case status, inputs, bound, outputError, outputErrors, plannedError, sitesBackedOff, modelRuns, note, storage
    case estimatedError, allocation, heldOut
  }

  /// Encodes every key, absent values as null; a non-finite error (a model that did not run)
  /// is null too, since JSON has no infinity.
  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    let finite = { (x: Double?) in x.flatMap { $0.isFinite ? $0 : nil } }
    try c.encode(status, forKey: .status)
    try c.encode(inputs, forKey: .inputs)
    try c.encode(bound, forKey: .bound)
    try c.encode(finite(outputError), forKey: .outputError)
    try c.encode(outputErrors?.mapValues { $0.isFinite ? $0 : Double?.none }, forKey: .outputErrors)
    try c.encode(finite(plannedError), forKey: .plannedError)
    try c.encode(sitesBackedOff, forKey: .sitesBackedOff)
    try c.encode(modelRuns, forKey: .modelRuns)
    try c.encode(note, forKey: .note)
    try c.encode(storage, forKey: .storage)
    try c.encode(finite(estimatedError), forKey: .estimatedError)
    try c.encode(allocation, forKey: .allocation)
    try c.encode(heldOut, forKey: .heldOut)
  }

  /// An error for people: four significant digits, "∞" for a model that did not run.
  static func format(_ x: Double) -> String {
    x.isFinite ? String(format: "%.4g", x) : "∞ (did not run)"
  }

  /// One line for the end of the report table.
  public var summary: String {
    switch status {
    case .off: return "outputs not measured (--no-check); ranks chosen from weight error alone"
    case .unavailable: return "outputs not measured: \(note ?? "unknown reason"); ranks chosen from weight error alone"
    case .measured:
      var line = "measured output error \(outputError.map(OutputMeasurement.format) ?? "unknown")"
      if let bound { line += " (bound \(bound))" }
      line += " on \(inputs ?? "?"), \(modelRuns) model runs"
      if sitesBackedOff > 0 {
        line += "; \(sitesBackedOff) site(s) backed off (gentler ranks or kept whole) to meet the bound (planned error \(plannedError.map(OutputMeasurement.format) ?? "?"))"
      }
      if let allocation { line += "; \(allocation)" }
      if let note { line += "; \(note)" }
      if let storage { line += "; " + storage.summary }
      if let heldOut { line += "; " + heldOut.summary }
      return line
    }
  }
}
