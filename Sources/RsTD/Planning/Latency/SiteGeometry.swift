import ONNX

/// Where a site's chain runs: the positions (N·∏spatial, or the rows of a linear layer) of its
/// input and output tensors. The latency model's per-node and per-element terms weigh against
/// its multiply-adds only through these.
public struct SiteGeometry: Equatable, Sendable {
  public var inputPositions: Int
  public var outputPositions: Int
}

/// The geometry of every site: measured on one input when the model could be run
/// (`GeometryProbe`), else nominal.
public struct SiteGeometries: Sendable {
  /// Output positions per tensor name (a site is found by its node's first output).
  var outputPositions: [String: Int] = [:]
  /// How the positions were found, for the report.
  public var basis: String

  /// The side of the nominal spatial extent (56, a mid-network ResNet stage) used when the model
  /// was not run: every spatial axis of a conv's output is taken as 56, a linear layer as 1 row.
  static let nominalSide = 56

  static let nominal = SiteGeometries(basis: "nominal: \(nominalSide) per spatial axis (the model was not run)")

  func geometry(of site: ConvSite) -> SiteGeometry {
    let spatial = site.kernelSize.count
    let out = outputPositions[site.node.outputs.first ?? ""]
      ?? (site.kind == .conv ? cappedProduct(Array(repeating: SiteGeometries.nominalSide, count: spatial)) : 1)
    // The input is larger by the strides (padding aside): what a chain's first 1×1 conv reads.
    let stride = site.kind == .conv ? cappedProduct(site.strides) : 1
    return SiteGeometry(inputPositions: cappedProduct([out, stride]), outputPositions: out)
  }
}

/// The product of `factors` (each taken as at least 1), saturating at 2⁴⁰: positions feed only
/// the cost model's Double arithmetic, and dims or strides from a file must never trap it.
func cappedProduct(_ factors: [Int]) -> Int {
  let cap = 1 << 40
  return factors.reduce(1) { p, f in
    let (q, overflow) = p.multipliedReportingOverflow(by: max(f, 1))
    return overflow ? cap : min(q, cap)
  }
}
