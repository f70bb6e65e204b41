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

  init(format: Method?, ranks: [Int], params: Int, error: Double, cost: Int? = nil) {
    (self.format, self.ranks, self.params, self.error) = (format, ranks, params, error)
    self.cost = cost ?? params
  }

  static func keep(_ site: ConvSite) -> CurvePoint {
    CurvePoint(format: nil, ranks: [], params: site.parameterCount, error: 0)
  }
}
