import TensorAlgebra

/// What a format's response fit reads at a site: the output moments (svd, tucker2), the
/// input-patch moments (spatial), and for tucker2 the input channels' moments too.
struct FitInputs {
  let moments: SecondMoments
  var input: SecondMoments? = nil
}

/// A site whose format and ranks the calibrated allocation chooses (`Rewriter.rewriteCalibrated`):
/// its options in every format it may take, and its measured sensitivity.
///
/// The model's error with this site alone at option p is modelled as `g · d(p)`, with d the
/// option's response error (the layer's relative output error on the calibration data: the
/// response curve for svd, the refit's error for spatial, the fit's stated error for tucker2)
/// and g the sensitivity, a property of the site, not of the format (docs/calibration.md,
/// "Several formats per site"): measured by a probe at `reference` and refined by a second one
/// at the option a first allocation chose, whatever its format.
struct CalibratedSite {
  /// Index among the prepared sites.
  let index: Int
  let site: ConvSite
  /// What each format's fit reads; a format without its statistics is not among the options.
  let inputs: [Method: FitInputs]
  /// The bias the response fit corrects (`responseFitBias`).
  let bias: [Float]
  /// The profitable options of every format (latency guard and channel alignment marked),
  /// `error` = d, `cost` under the objective.
  let points: [CurvePoint]
  /// The site kept whole, under the objective.
  let keep: CurvePoint
  /// The option the first probe runs at, nil when the responses do not vary (every option is exact).
  let reference: CurvePoint?
  /// The probes run so far: the response error d of the probed option and the model's error
  /// measured with only this site rewritten at it. The first is at `reference`.
  var probes: [(d: Double, error: Double)] = []
  /// The reference probe's error (`probeError`) is a share of a group's measurement (more
  /// probes than `Rewriter.probeGroupLimit`: `Rewriter.calibrationProbeGroups`), not of this
  /// site alone.
  var probedInGroup = false

  /// The model's error measured at `reference` (0 before the probe).
  var probeError: Double { probes.first?.error ?? 0 }

  /// The response error the probes aim at: the smallest rank with d(r) ≤ this is probed. Large
  /// enough that the model's error is well above float round-off and in the range where the
  /// allocation ends up (d ≈ 0.1–0.4 at half the parameters on PP-OCR), small enough that the
  /// perturbation stays in the regime where the error grows linearly with d.
  static let probeResponseError = 0.25

  /// The order formats are preferred in for the reference probe: svd first (every site has it),
  /// so that one probe per site serves all of its formats.
  static let referenceOrder: [Method] = [.svd, .spatial, .tucker2]

  init(index: Int, site: ConvSite, inputs: [Method: FitInputs], bias: [Float], points: [CurvePoint], keep: CurvePoint) {
    (self.index, self.site, self.inputs, self.bias, self.points, self.keep) = (index, site, inputs, bias, points, keep)
    let format = Self.referenceOrder.first { f in points.contains { $0.format == f } }
    reference = Self.reference(points: points.filter { $0.format == format })
  }

  /// Among one format's points (`error` = d, one rank each or rank pairs growing together): the
  /// smallest aligned-preferred one with 0 < d ≤ `probeResponseError`; when none is, the one
  /// with the largest ranks and d > 0 (the most accurate profitable one); nil when d ≡ 0.
  static func reference(points: [CurvePoint]) -> CurvePoint? {
    let candidates = preferAligned(points).filter { $0.error > 0 }.sorted { $0.ranks.lexicographicallyPrecedes($1.ranks) }
    return candidates.first { $0.error <= probeResponseError } ?? candidates.last
  }

  /// The response error d of option `p` (same format and ranks), 0 when it is not an option.
  func responseError(_ p: CurvePoint) -> Double {
    points.first { $0.format == p.format && $0.ranks == p.ranks }?.error ?? 0
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

  /// The options the allocation chooses from: every format's points (aligned ones only when
  /// `aligned`, per format) with error g(d)·d, then the site kept whole. The allocation's lower
  /// hull in (cost, error²) then picks from all formats at once.
  func allocationCurve(aligned: Bool) -> [CurvePoint] {
    var formats: [Method] = []
    for p in points where !formats.contains(p.format!) { formats.append(p.format!) }
    let offered = formats.flatMap { f in aligned ? preferAligned(points.filter { $0.format == f }) : points.filter { $0.format == f } }
    return offered.map { p in
      var q = p
      q.error = sensitivity(at: p.error) * p.error
      return q
    } + [keep]
  }
}

/// A choice of options, one per site, as a dictionary key (format and ranks; kept whole: "-").
func choiceSignature(_ chosen: [CurvePoint]) -> [String] {
  chosen.map { p in p.format.map { "\($0.rawValue)\(p.ranks)" } ?? "-" }
}
