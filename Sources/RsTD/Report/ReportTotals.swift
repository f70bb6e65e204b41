/// Totals over all sites and the file.
public struct ReportTotals: Codable, Equatable, Sendable {
  public var sitesRewritten: Int
  public var sitesKept: Int
  public var paramsBefore: Int
  public var paramsAfter: Int
  public var macsBefore: Int
  public var macsAfter: Int
  public var fileSizeBefore: Int
  public var fileSizeAfter: Int
  /// Bytes of initializer data in the written model by element type ("FLOAT", "FLOAT16",
  /// "INT8", ...); empty in a dry run.
  public var tensorBytesByType: [String: Int] = [:]
  /// Predicted onnxruntime latency (µs) of the sites, before and after (`RewriteReport.latency`):
  /// the rest of the model is not counted.
  public var predictedMicrosBefore: Double = 0
  public var predictedMicrosAfter: Double = 0
  /// Wall-clock seconds of the whole run (load to save).
  public var seconds: Double
}
