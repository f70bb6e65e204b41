// spatial — spatially separable filters (Jaderberg, Vedaldi, Zisserman 2014, scheme 2).
//
// W[o, c, i, j] ≈ Σ_r H[o, r, j]·V[r, c, i]: the rank-r truncation of W unfolded as
// [(c, i), (o, j)]. Chain: Conv(k1×1, C→r, axis-1 stride/pad/dilation)
//        → Conv(1×k2, r→M, axis-2 stride/pad/dilation, +bias).
// The first conv has no bias, so the second's zero padding equals the original's: the chain
// computes the rebuilt kernel exactly. auto_pad SAME is per axis, so each conv keeps it.
// Cost per output position: r·(C·k1·s2 + M·k2) (the first conv runs at every input column).
// Only 2-D ungrouped convs with k1, k2 > 1; under `--method spatial` other sites use svd.
import ONNX
import TensorAlgebra

struct SpatialFormat: ConvFormat {
  typealias Factors = SpatialFactors

  var method: Method { .spatial }

  /// Whether `site` has a kernel this format separates (others fall back to svd).
  static func applies(to site: ConvSite) -> Bool {
    site.kind == .conv && site.kernelSize.count == 2 && site.group == 1 && site.kernelSize.allSatisfy { $0 > 1 }
  }

  func unsupportedReason(_ site: ConvSite, opset: Int) -> SkipReason? {
    Self.applies(to: site) ? nil : .formatUnsupported(format: "spatial", why: "it needs an ungrouped 2-D conv with a k1×k2 kernel, k1, k2 > 1")
  }

  func fullRanks(_ site: ConvSite) -> [Int] {
    let (m, c, k) = (site.outputChannels, site.inputChannelsPerGroup, site.kernelSize)
    return [min(c * k[0], m * k[1])]
  }

  func uniformRanks(_ site: ConvSite, rank: Int) -> [Int] { [max(1, min(rank, fullRanks(site)[0]))] }

  func cost(_ site: ConvSite, ranks: [Int]) -> Cost {
    let (r, m, c, k) = (ranks[0], site.outputChannels, site.inputChannelsPerGroup, site.kernelSize)
    let s2 = site.strides.count == 2 ? site.strides[1] : 1
    return Cost(
      params: SpatialFactors.parameterCount(shape: [m, c] + k, rank: r),
      multiplyAdds: r * (c * k[0] * s2 + m * k[1]))
  }

  func chain(_ site: ConvSite, ranks: [Int], at g: SiteGeometry) -> [CostNode] {
    let (r, k) = (ranks[0], site.kernelSize)
    let (pi, po) = (g.inputPositions, g.outputPositions)
    // The k1×1 conv strides axis 1 only: its output lies between the input's and the output's.
    let mid = max(po, pi / max(site.strides.first ?? 1, 1))
    return [
      .conv(inputChannels: site.inputChannelsPerGroup, outputChannels: r, group: 1, kernelArea: k[0], inputPositions: pi, outputPositions: mid),
      .conv(inputChannels: r, outputChannels: site.outputChannels, group: 1, kernelArea: k[1], inputPositions: mid, outputPositions: po),
    ]
  }

  func curve(_ site: ConvSite, kernel: Tensor, context: ShuffleContext) throws -> [CurvePoint]? {
    let errors = truncationErrors(singularValues: try singularValues(spatialUnfolding(kernel)))
    return (1..<errors.count).map { r in
      CurvePoint(format: .spatial, ranks: [r], params: cost(site, ranks: [r]).params, error: errors[r])
    }
  }

  func factor(_ kernel: Tensor, site: ConvSite, ranks: [Int], context: ShuffleContext) throws -> Factorization {
    let fit = try spatialSVD(kernel, rank: ranks[0])
    return Factorization(format: .spatial, ranks: ranks, relativeError: fit.relativeError, factors: fit.factors)
  }

  func emit(_ sf: SpatialFactors, of f: Factorization, into e: inout ChainEmitter) throws {
    let site = e.site
    let r = f.ranks[0]
    let (m, c) = (site.outputChannels, site.inputChannelsPerGroup)
    let (k1, k2) = (site.kernelSize[0], site.kernelSize[1])
    let node = site.node
    let w1 = e.initializer("spatial_vertical", sf.vertical.scalars, shape: [r, c, k1, 1])
    let w2 = e.initializer("spatial_horizontal", sf.horizontal.scalars, shape: [m, r, 1, k2])
    let t = e.conv(node.inputs[0], weight: w1, bias: nil, attributes: e.separableAttributes(axis: 0, group: nil), suffix: "spatial_conv1")
    let bias = f.bias.map { e.bias("spatial_bias", $0, shape: [m]) } ?? site.biasName
    e.conv(t, weight: w2, bias: bias, attributes: e.separableAttributes(axis: 1, group: nil), suffix: "spatial_conv2", output: node.outputs[0])
  }
}
