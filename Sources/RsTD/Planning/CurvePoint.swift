/// One option for a site: a format at given ranks, its stored parameters and its (estimated)
/// relative weight error. `format == nil` is the original layer, kept.
struct CurvePoint: Equatable {
  var format: Method?
  var ranks: [Int]
  var params: Int
  var error: Double

  static func keep(_ site: ConvSite) -> CurvePoint {
    CurvePoint(format: nil, ranks: [], params: site.parameterCount, error: 0)
  }
}
