/// The report of a run, written as JSON by `--report` (schema in docs/cli.md).
public struct RewriteReport: Codable, Equatable, Sendable {
  public var tool: String
  public var version: String
  /// The options as given, one string each (method, layout, shuffle, seed, ranks, ...).
  public var options: [String: String]
  public var input: String
  public var output: String?
  public var dryRun: Bool
  public var sites: [SiteReport]
  public var totals: ReportTotals
  /// What the output check measured.
  public var measurement: OutputMeasurement
  /// How the predicted latencies (sites and totals) were made.
  public var latency: LatencyPrediction
}

extension RewriteReport {
  private enum CodingKeys: String, CodingKey { case tool, version, options, input, output, dryRun, sites, totals, measurement, latency }

  /// Encodes every key (`output` is null in a dry run).
  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(tool, forKey: .tool)
    try c.encode(version, forKey: .version)
    try c.encode(options, forKey: .options)
    try c.encode(input, forKey: .input)
    try c.encode(output, forKey: .output)
    try c.encode(dryRun, forKey: .dryRun)
    try c.encode(sites, forKey: .sites)
    try c.encode(totals, forKey: .totals)
    try c.encode(measurement, forKey: .measurement)
    try c.encode(latency, forKey: .latency)
  }
}
