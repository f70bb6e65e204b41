/// One option for a site: a format at given ranks, its stored parameters and its (estimated)
/// relative weight error. `format == nil` is the original layer, kept.
struct CurvePoint: Equatable {
  var format: Method?
  var ranks: [Int]
  var params: Int
  var error: Double
  /// What the rank policy minimises, in the objective's units (parameters, bytes under
  /// `--weights`, multiply-adds, or predicted nanoseconds): the allocation's cost axis.
  var cost: Int
  /// Whether the chain's new channel counts are multiples of the channel block
  /// (`Planner.isAligned`); policies prefer such points (`preferAligned`).
  var aligned = true

  init(format: Method?, ranks: [Int], params: Int, error: Double, cost: Int? = nil) {
    (self.format, self.ranks, self.params, self.error) = (format, ranks, params, error)
    self.cost = cost ?? params
  }
}

/// The aligned points of `points` when there is one, else all of them (layers too small for a
/// block, or bounds only an unaligned rank meets). A padded channel costs the runtime as much as
/// a used one, so the aligned rank above an unaligned one costs the same time with less error.
func preferAligned(_ points: [CurvePoint]) -> [CurvePoint] {
  let aligned = points.filter(\.aligned)
  return aligned.isEmpty ? points : aligned
}

extension CurvePoint {
  static func keep(_ site: ConvSite) -> CurvePoint {
    CurvePoint(format: nil, ranks: [], params: site.parameterCount, error: 0)
  }
}
