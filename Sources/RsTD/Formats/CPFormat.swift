// cp — CP decomposition of a 2-D kernel (Lebedev et al. 2015), TensorLy's parafac.
//
// W ≈ Σ_r a_r ∘ b_r ∘ y_r ∘ x_r over [M, C, k1, k2] (ALS from a deterministic SVD start, λ folded
// into a). Chain: Conv(1×1, C→R) → Conv(k1×1, group R, axis-1 stride/pad/dilation)
//        → Conv(1×k2, group R, axis-2 stride/pad/dilation) → Conv(1×1, R→M, +bias).
// auto_pad SAME is per axis, so each separable conv keeps it.
// Cost per output position: R·(C·s1·s2 + k1·s2 + k2 + M).
// The lossless plan (--rank full) is the exact CP of rank min(M, C)·k1·k2 built from unit vectors.
import ONNX
import TensorAlgebra

struct CPFormat: ConvFormat {
  typealias Factors = CPFactors

  var method: Method { .cp }

  func unsupportedReason(_ site: ConvSite, opset: Int) -> SkipReason? {
    if site.kind != .conv || site.kernelSize.count != 2 {
      return .formatUnsupported(format: "cp", why: "it needs a 2-D convolution kernel")
    }
    if site.group != 1 { return .formatUnsupported(format: "cp", why: "grouped convs use svd or tucker2") }
    return nil
  }

  func fullRanks(_ site: ConvSite) -> [Int] {
    [min(site.outputChannels, site.inputChannelsPerGroup) * site.kernelArea]
  }

  func uniformRanks(_ site: ConvSite, rank: Int) -> [Int] { [max(1, min(rank, fullRanks(site)[0]))] }

  func cost(_ site: ConvSite, ranks: [Int]) -> Cost {
    let r = ranks[0], m = site.outputChannels, c = site.inputChannelsPerGroup
    let k = site.kernelSize, s = site.strides
    return Cost(
      params: CPFactors.parameterCount(shape: [m, c] + k, rank: r),
      multiplyAdds: r * (c * s[0] * s[1] + k[0] * s[1] + k[1] + m))
  }

  func chain(_ site: ConvSite, ranks: [Int], at g: SiteGeometry) -> [CostNode] {
    let r = ranks[0], k = site.kernelSize
    let (pi, po) = (g.inputPositions, g.outputPositions)
    // The k1×1 conv strides axis 1 only: its output lies between the input's and the output's.
    let mid = max(po, pi / max(site.strides.first ?? 1, 1))
    return [
      .conv(inputChannels: site.inputChannelsPerGroup, outputChannels: r, group: 1, kernelArea: 1, inputPositions: pi, outputPositions: pi),
      .conv(inputChannels: r, outputChannels: r, group: r, kernelArea: k[0], inputPositions: pi, outputPositions: mid),
      .conv(inputChannels: r, outputChannels: r, group: r, kernelArea: k[1], inputPositions: mid, outputPositions: po),
      .conv(inputChannels: r, outputChannels: site.outputChannels, group: 1, kernelArea: 1, inputPositions: po, outputPositions: po),
    ]
  }

  func curve(_ site: ConvSite, kernel: Tensor, context: ShuffleContext) throws -> [CurvePoint]? { nil }

  func factor(_ kernel: Tensor, site: ConvSite, ranks: [Int], context: ShuffleContext) throws -> Factorization {
    if ranks[0] == fullRanks(site)[0] {
      return Factorization(format: .cp, ranks: ranks, relativeError: 0, factors: exactCP(kernel))
    }
    let fit = try cp(kernel, rank: ranks[0])
    return Factorization(format: .cp, ranks: ranks, relativeError: fit.relativeError, factors: fit.factors)
  }

  /// The exact CP of `[M, C, k1, k2]`: one term per (smaller channel, tap), unit vectors elsewhere.
  func exactCP(_ w: Tensor) -> CPFactors {
    let (m, c, k1, k2) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    let small = min(m, c)
    let r = small * k1 * k2
    var f = [Tensor(zeros: [m, r]), Tensor(zeros: [c, r]), Tensor(zeros: [k1, r]), Tensor(zeros: [k2, r])]
    for s in 0..<small {
      for h in 0..<k1 {
        for x in 0..<k2 {
          let t = (s * k1 + h) * k2 + x
          f[2].scalars[h * r + t] = 1
          f[3].scalars[x * r + t] = 1
          if m <= c {
            f[0].scalars[s * r + t] = 1
            for i in 0..<c { f[1].scalars[i * r + t] = w.scalars[((s * c + i) * k1 + h) * k2 + x] }
          } else {
            f[1].scalars[s * r + t] = 1
            for o in 0..<m { f[0].scalars[o * r + t] = w.scalars[((o * c + s) * k1 + h) * k2 + x] }
          }
        }
      }
    }
    return CPFactors(factors: f)
  }

  func emit(_ cpf: CPFactors, of f: Factorization, into e: inout ChainEmitter) throws {
    let site = e.site
    let r = f.ranks[0]
    let (m, c) = (site.outputChannels, site.inputChannelsPerGroup)
    let (k1, k2) = (site.kernelSize[0], site.kernelSize[1])
    let node = site.node
    let w1 = e.initializer("cp_in", cpf.factors[1].transposed([1, 0]).scalars, shape: [r, c, 1, 1])
    let w2 = e.initializer("cp_vertical", cpf.factors[2].transposed([1, 0]).scalars, shape: [r, 1, k1, 1])
    let w3 = e.initializer("cp_horizontal", cpf.factors[3].transposed([1, 0]).scalars, shape: [r, 1, 1, k2])
    let w4 = e.initializer("cp_out", cpf.factors[0].scalars, shape: [m, r, 1, 1])
    let t1 = e.conv(node.inputs[0], weight: w1, bias: nil, attributes: e.pointwiseAttributes(group: 1), suffix: "cp_conv1")
    let t2 = e.conv(t1, weight: w2, bias: nil, attributes: e.separableAttributes(axis: 0, group: r), suffix: "cp_conv2")
    let t3 = e.conv(t2, weight: w3, bias: nil, attributes: e.separableAttributes(axis: 1, group: r), suffix: "cp_conv3")
    // A response refit brings its own bias (the mean response it restores).
    let bias = f.bias.map { e.bias("cp_bias", $0, shape: [m]) } ?? site.biasName
    e.conv(t3, weight: w4, bias: bias, attributes: e.pointwiseAttributes(group: 1), suffix: "cp_conv4", output: node.outputs[0])
  }
}
