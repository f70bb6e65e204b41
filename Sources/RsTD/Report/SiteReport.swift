/// One row of the report: a site and what happened to it.
public struct SiteReport: Codable, Equatable, Sendable {
  /// The node's name (or op and output when unnamed).
  public var node: String
  public var opType: String
  public var weight: String?
  /// Where the weight came from (initializer, Constant node, ...).
  public var weightSource: String?
  public var shape: [Int]
  public var group: Int
  /// "rewritten" or "kept".
  public var status: String
  /// Why a site was kept; nil when rewritten.
  public var reason: String?
  public var format: String?
  public var ranks: [Int]?
  public var shuffle: String?
  public var paramsBefore: Int
  public var paramsAfter: Int
  public var macsBefore: Int
  public var macsAfter: Int
  /// ‖W − Ŵ‖F / ‖W‖F of the written factors (0 when kept).
  public var relativeError: Double?
}

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
  /// Wall-clock seconds of the whole run (load to save).
  public var seconds: Double
}

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
}

extension SiteReport {
  private enum CodingKeys: String, CodingKey {
    case node, opType, weight, weightSource, shape, group, status, reason, format, ranks, shuffle
    case paramsBefore, paramsAfter, macsBefore, macsAfter, relativeError
  }

  /// Encodes every key, absent values as null, so the JSON schema has a fixed set of keys.
  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(node, forKey: .node)
    try c.encode(opType, forKey: .opType)
    try c.encode(weight, forKey: .weight)
    try c.encode(weightSource, forKey: .weightSource)
    try c.encode(shape, forKey: .shape)
    try c.encode(group, forKey: .group)
    try c.encode(status, forKey: .status)
    try c.encode(reason, forKey: .reason)
    try c.encode(format, forKey: .format)
    try c.encode(ranks, forKey: .ranks)
    try c.encode(shuffle, forKey: .shuffle)
    try c.encode(paramsBefore, forKey: .paramsBefore)
    try c.encode(paramsAfter, forKey: .paramsAfter)
    try c.encode(macsBefore, forKey: .macsBefore)
    try c.encode(macsAfter, forKey: .macsAfter)
    try c.encode(relativeError, forKey: .relativeError)
  }
}

extension RewriteReport {
  private enum CodingKeys: String, CodingKey { case tool, version, options, input, output, dryRun, sites, totals }

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
  }
}
