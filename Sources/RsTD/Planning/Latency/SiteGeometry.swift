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
      ?? (site.kind == .conv ? (0..<spatial).reduce(1) { p, _ in p * SiteGeometries.nominalSide } : 1)
    // The input is larger by the strides (padding aside): what a chain's first 1×1 conv reads.
    let stride = site.kind == .conv ? site.strides.reduce(1) { min($0 * max($1, 1), 1 << 20) } : 1
    let input = out.multipliedReportingOverflow(by: stride)
    return SiteGeometry(inputPositions: input.overflow ? Int.max / 2 : input.partialValue, outputPositions: out)
  }
}
