import TensorAlgebra

/// A site whose rank the calibrated allocation chooses (`Rewriter.rewriteCalibrated`): its
/// response curve, the ranks it may take, and its measured sensitivity.
///
/// The model's error with this site alone at rank r is modelled as `g · d(r)`, with d the
/// response curve (`responseCurve`: the layer's relative output error at rank r on the
/// calibration data) and g the sensitivity, measured by a probe at `referenceRank` and refined by
/// a second one at the rank a first allocation chose.
struct CalibratedSite {
  /// Index among the prepared sites.
  let index: Int
  let site: ConvSite
  /// The format of its chain: svd (response PCA) or spatial (`spatialResponseRefit`).
  let format: Method
  /// What the fit reads: the output moments (svd) or the input-patch moments (spatial).
  let moments: SecondMoments
  /// The bias the response fit corrects (`responseFitBias`).
  let bias: [Float]
  /// d(0) … d(full rank) (spatial: measured on a grid of profitable ranks, linear between).
  let curve: [Double]
  /// The profitable ranks of `format` (latency guard and channel alignment marked), `error` = d(r),
  /// `cost` under the objective.
  let points: [CurvePoint]
  /// The site kept whole, under the objective.
  let keep: CurvePoint
  /// The rank the probe runs at, nil when the responses do not vary (every rank is exact).
  let referenceRank: Int?
  /// The probes run so far: the response error d(r) of the probed rank and the model's error
  /// measured with only this site rewritten at r. The first is at `referenceRank`.
  var probes: [(d: Double, error: Double)] = []

  /// The model's error measured at `referenceRank` (0 before the probe).
  var probeError: Double { probes.first?.error ?? 0 }

  /// The response error the probes aim at: the smallest rank with d(r) ≤ this is probed. Large
  /// enough that the model's error is well above float round-off and in the range where the
  /// allocation ends up (d ≈ 0.1–0.4 at half the parameters on PP-OCR), small enough that the
  /// perturbation stays in the regime where the error grows linearly with d.
  static let probeResponseError = 0.25

  init(
    index: Int, site: ConvSite, format: Method, moments: SecondMoments, bias: [Float], curve: [Double], points: [CurvePoint],
    keep: CurvePoint
  ) {
    (self.index, self.site, self.format, self.moments, self.bias, self.curve, self.points, self.keep) =
      (index, site, format, moments, bias, curve, points, keep)
    referenceRank = CalibratedSite.referenceRank(points: points, curve: curve)
  }

  /// The smallest aligned-preferred rank with 0 < d(r) ≤ `probeResponseError`; when none is, the
  /// rank with the smallest positive d (the most accurate profitable one); nil when d ≡ 0.
  static func referenceRank(points: [CurvePoint], curve: [Double]) -> Int? {
    let ranks = preferAligned(points).map { $0.ranks[0] }.filter { curve[$0] > 0 }.sorted()
    return ranks.first { curve[$0] <= probeResponseError } ?? ranks.last
  }

  /// The sensitivity g(d) = e / d at response error d: each probe's measured e / d, linear in d
  /// between probes and constant beyond the outermost ones (0 without a probe).
  func sensitivity(at d: Double) -> Double {
    let g = probes.filter { $0.d > 0 }.map { (d: $0.d, g: $0.error / $0.d) }.sorted { $0.d < $1.d }
    guard let first = g.first, let last = g.last else { return 0 }
    if d <= first.d { return first.g }
    if d >= last.d { return last.g }
    let k = g.firstIndex { $0.d >= d }!
    let (a, b) = (g[k - 1], g[k])
    return b.d > a.d ? a.g + (b.g - a.g) * (d - a.d) / (b.d - a.d) : b.g
  }

  /// The options the allocation chooses from: the ranks (aligned ones only when `aligned`) with
  /// error g(d(r))·d(r), then the site kept whole.
  func allocationCurve(aligned: Bool) -> [CurvePoint] {
    (aligned ? preferAligned(points) : points).map { p in
      var q = p
      q.error = sensitivity(at: p.error) * p.error
      return q
    } + [keep]
  }
}
