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
  public var status: SiteStatus
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
  /// Under `--weights fp16|int8`, the error of the float factors alone (`relativeError` then
  /// includes the storage); nil otherwise.
  public var lowRankError: Double? = nil
  /// How the site's weights are stored ("int8 (svd_right int8 axis 0, ...)", "fp16",
  /// "fp32 (why)"); nil under the default `--weights fp32`.
  public var weights: String? = nil
  /// Relative output error of the model with only this site rewritten, when the output check
  /// probed sites (it does so only to back sites off).
  public var outputErrorAlone: Double?
  /// Under the calibrated allocation, the rank `outputErrorAlone` was probed at; nil otherwise.
  public var probeRank: Int? = nil
  /// Under the calibrated allocation, the site's share of the estimated squared model error
  /// (g²·d(r)² / Σ over sites) at its chosen rank; nil otherwise.
  public var errorShare: Double? = nil
  /// ‖y − ŷ‖ / ‖y‖ of the site's output in the rewritten network (fed by its rewritten
  /// upstream) against the original layer's output, over the calibration inputs: measured by
  /// sequential correction for the sites it refits, after the refit (`Uncorrected`: before it,
  /// or the only figure when the refit was not kept); nil for sites it does not see.
  public var siteOutputError: Double? = nil
  public var siteOutputErrorUncorrected: Double? = nil
  /// Predicted onnxruntime latency (µs) of the original node and of what replaced it (equal
  /// when kept; nil for nodes that are not sites), from the runtime cost model.
  public var predictedMicrosBefore: Double? = nil
  public var predictedMicrosAfter: Double? = nil
}

extension SiteReport {
  private enum CodingKeys: String, CodingKey {
    case node, opType, weight, weightSource, shape, group, status, reason, format, ranks, shuffle
    case paramsBefore, paramsAfter, macsBefore, macsAfter, relativeError, lowRankError, weights, outputErrorAlone, probeRank, errorShare
    case siteOutputError, siteOutputErrorUncorrected
    case predictedMicrosBefore, predictedMicrosAfter
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
    try c.encode(lowRankError, forKey: .lowRankError)
    try c.encode(weights, forKey: .weights)
    try c.encode(outputErrorAlone.flatMap { $0.isFinite ? $0 : nil }, forKey: .outputErrorAlone)
    try c.encode(probeRank, forKey: .probeRank)
    try c.encode(errorShare, forKey: .errorShare)
    try c.encode(siteOutputError.flatMap { $0.isFinite ? $0 : nil }, forKey: .siteOutputError)
    try c.encode(siteOutputErrorUncorrected.flatMap { $0.isFinite ? $0 : nil }, forKey: .siteOutputErrorUncorrected)
    try c.encode(predictedMicrosBefore.flatMap { $0.isFinite ? $0 : nil }, forKey: .predictedMicrosBefore)
    try c.encode(predictedMicrosAfter.flatMap { $0.isFinite ? $0 : nil }, forKey: .predictedMicrosAfter)
  }
}
