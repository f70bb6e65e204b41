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
