// tucker2 — Tucker decomposition over the channel modes (Kim et al. 2016), TensorLy's
// partial_tucker on modes (0, 1).
//
// W ≈ G ×₀ U ×₁ V, U[M, r_o], V[C, r_i], G[r_o, r_i, k…]; HOSVD start, then HOOI sweeps.
// Chain: Conv(1…, C→g·r_i, group g) → Conv(k…, g·r_i→g·r_o, group g, original spatial attributes)
//        → Conv(1…, g·r_o→M, group g, +bias).
// Cost per output position: g·(r_i·C/g·s + r_o·r_i·k… + M/g·r_o), s = product of strides (the
// first 1×1 conv runs at input resolution).
import ONNX
import TensorAlgebra

struct Tucker2Format: ConvFormat {
  /// One fit per group.
  typealias Factors = [Tucker2Factors]

  var method: Method { .tucker2 }

  func unsupportedReason(_ site: ConvSite, opset: Int) -> SkipReason? {
    site.kind == .conv ? nil : .formatUnsupported(format: "tucker2", why: "Gemm/MatMul use svd")
  }

  func fullRanks(_ site: ConvSite) -> [Int] {
    let mg = site.outputChannels / site.group, cg = site.inputChannelsPerGroup, k = site.kernelArea
    return [min(mg, cg * k), min(cg, mg * k)]
  }

  func uniformRanks(_ site: ConvSite, rank: Int) -> [Int] {
    zip(fullRanks(site), [rank, rank]).map { max(1, min($0, $1)) }
  }

  func cost(_ site: ConvSite, ranks: [Int]) -> Cost {
    let mg = site.outputChannels / site.group, cg = site.inputChannelsPerGroup, k = site.kernelArea
    let (ro, ri) = (ranks[0], ranks[1])
    let stride = site.strides.reduce(1, *)
    let params = site.group * Tucker2Factors.parameterCount(shape: [mg, cg] + site.kernelSize, ranks: (ro, ri))
    let macs = site.group * (ri * cg * stride + ro * ri * k + mg * ro)
    return Cost(params: params, multiplyAdds: macs)
  }

  func chain(_ site: ConvSite, ranks: [Int], at g: SiteGeometry) -> [CostNode] {
    let (ro, ri) = (site.group * ranks[0], site.group * ranks[1])
    let (pi, po) = (g.inputPositions, g.outputPositions)
    return [
      .conv(inputChannels: site.inputChannelsPerGroup * site.group, outputChannels: ri, group: site.group, kernelArea: 1, inputPositions: pi, outputPositions: pi),
      .conv(inputChannels: ri, outputChannels: ro, group: site.group, kernelArea: site.kernelArea, inputPositions: pi, outputPositions: po),
      .conv(inputChannels: ro, outputChannels: site.outputChannels, group: site.group, kernelArea: 1, inputPositions: po, outputPositions: po),
    ]
  }

  func curve(_ site: ConvSite, kernel: Tensor, context: ShuffleContext) throws -> [CurvePoint]? {
    let spectra = try factorGroups(kernel, groups: site.group) { try modeSpectra($0) }
    let total = spectra.reduce(0.0) { $0 + $1.output.reduce(0.0) { $0 + pow2(Double($1)) } }
    let full = fullRanks(site)
    let steps = max(full[0], full[1])
    var points: [CurvePoint] = []
    for t in 1..<steps {
      let ro = max(1, (t * full[0] + steps - 1) / steps), ri = max(1, (t * full[1] + steps - 1) / steps)
      if ro == full[0] && ri == full[1] { continue }
      // HOSVD bound: the discarded energy of both mode spectra.
      let tail = spectra.reduce(0.0) { acc, s in
        acc + s.output.dropFirst(ro).reduce(0.0) { $0 + pow2(Double($1)) }
          + s.input.dropFirst(ri).reduce(0.0) { $0 + pow2(Double($1)) }
      }
      let error = total > 0 ? min(1, (tail / total).squareRoot()) : 0
      points.append(CurvePoint(format: .tucker2, ranks: [ro, ri], params: cost(site, ranks: [ro, ri]).params, error: error))
    }
    return points
  }

  func factor(_ kernel: Tensor, site: ConvSite, ranks: [Int], context: ShuffleContext) throws -> Factorization {
    let fits = try factorGroups(kernel, groups: site.group) { g in
      (try tucker2(g, ranks: (output: ranks[0], input: ranks[1])), g.frobeniusNorm)
    }
    let error = combinedError(fits.map { ($0.0.relativeError, $0.1) })
    return Factorization(format: .tucker2, ranks: ranks, relativeError: error, factors: fits.map(\.0.factors))
  }

  func emit(_ groups: [Tucker2Factors], of f: Factorization, into e: inout ChainEmitter) throws {
    let site = e.site
    let (ro, ri) = (f.ranks[0], f.ranks[1])
    let g = site.group
    let ones = site.kernelSize.map { _ in 1 }
    let first = groups.flatMap { $0.input.transposed([1, 0]).scalars }  // [g·r_i, C/g]
    let core = stackedScalars(groups.map(\.core))  // [g·r_o, r_i, k…]
    let last = stackedScalars(groups.map(\.output))  // [M, r_o]
    let w1 = e.initializer("tucker2_in", first, shape: [g * ri, site.inputChannelsPerGroup] + ones)
    let w2 = e.initializer("tucker2_core", core, shape: [g * ro, ri] + site.kernelSize)
    let w3 = e.initializer("tucker2_out", last, shape: [site.outputChannels, ro] + ones)
    let t1 = e.conv(site.node.inputs[0], weight: w1, bias: nil, attributes: e.pointwiseAttributes(group: g), suffix: "tucker2_conv1")
    let t2 = e.conv(t1, weight: w2, bias: nil, attributes: e.spatialAttributes(group: g), suffix: "tucker2_conv2")
    // A response fit brings its own bias (the mean of the discarded output directions).
    let bias = f.bias.map { e.bias("tucker2_bias", $0, shape: [site.outputChannels]) } ?? site.biasName
    e.conv(t2, weight: w3, bias: bias, attributes: e.pointwiseAttributes(group: g), suffix: "tucker2_conv3", output: site.node.outputs[0])
  }
}
