import TensorAlgebra

/// A site whose rank the calibrated allocation chooses (`Rewriter.rewriteCalibrated`): its
/// response curve, the ranks it may take, and its measured sensitivity.
///
/// The model's error with this site alone at rank r is modelled as `g · d(r)`, with d the
/// response curve (`responseCurve`: the layer's relative output error at rank r on the
/// calibration data) and g the sensitivity, measured by one probe at `referenceRank`.
struct CalibratedSite {
  /// Index among the prepared sites.
  let index: Int
  let site: ConvSite
  let moments: SecondMoments
  /// The bias the response fit corrects (`responseFitBias`).
  let bias: [Float]
  /// d(0) … d(M).
  let curve: [Double]
  /// The profitable svd ranks (latency guard and channel alignment marked), `error` = d(r),
  /// `cost` under the objective.
  let points: [CurvePoint]
  /// The site kept whole, under the objective.
  let keep: CurvePoint
  /// The rank the probe runs at, nil when the responses do not vary (every rank is exact).
  let referenceRank: Int?
  /// The model's error measured with only this site rewritten at `referenceRank`.
  var probeError = 0.0

  /// The response error the probes aim at: the smallest rank with d(r) ≤ this is probed. Large
  /// enough that the model's error is well above float round-off and in the range where the
  /// allocation ends up (d ≈ 0.1–0.4 at half the parameters on PP-OCR), small enough that the
  /// perturbation stays in the regime where the error grows linearly with d.
  static let probeResponseError = 0.25

  init(index: Int, site: ConvSite, moments: SecondMoments, bias: [Float], curve: [Double], points: [CurvePoint], keep: CurvePoint) {
    (self.index, self.site, self.moments, self.bias, self.curve, self.points, self.keep) =
      (index, site, moments, bias, curve, points, keep)
    referenceRank = CalibratedSite.referenceRank(points: points, curve: curve)
  }

  /// The smallest aligned-preferred rank with 0 < d(r) ≤ `probeResponseError`; when none is, the
  /// rank with the smallest positive d (the most accurate profitable one); nil when d ≡ 0.
  static func referenceRank(points: [CurvePoint], curve: [Double]) -> Int? {
    let ranks = preferAligned(points).map { $0.ranks[0] }.filter { curve[$0] > 0 }.sorted()
    return ranks.first { curve[$0] <= probeResponseError } ?? ranks.last
  }

  /// g = e / d(r_ref): the model's error per unit of response error (0 without a probe).
  var sensitivity: Double {
    guard let r = referenceRank, curve[r] > 0 else { return 0 }
    return probeError / curve[r]
  }

  /// The options the allocation chooses from: the ranks (aligned ones only when `aligned`) with
  /// error g·d(r), then the site kept whole.
  func allocationCurve(aligned: Bool) -> [CurvePoint] {
    let g = sensitivity
    return (aligned ? preferAligned(points) : points).map { p in
      var q = p
      q.error = g * p.error
      return q
    } + [keep]
  }
}
