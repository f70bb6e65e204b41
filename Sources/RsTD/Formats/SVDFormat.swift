// svd — channel decomposition (Jaderberg et al. 2014; Zhang et al. 2015).
//
// W[M, C·k…] ≈ L[M, r] · R[r, C·k…] (Σ folded into L), per group for grouped convs.
// Chain: Conv(k…, C→g·r, group g, original strides/pads/dilations/auto_pad)
//        → Conv(1…, g·r→M, group g, +bias).
// Gemm:  Gemm(A, R, transB=1) → Gemm(·, L, C, transB=1, original alpha/beta).
// MatMul: MatMul(X, Rᵀ) → MatMul(·, Lᵀ).
// Cost per output position: g·r·(C/g·k… + M/g) multiply-adds, the same number of parameters.
import ONNX
import TensorAlgebra

struct SVDFormat: ConvFormat {
  /// One fit per group.
  typealias Factors = [SVDFactors]

  var method: Method { .svd }

  func unsupportedReason(_ site: ConvSite, opset: Int) -> SkipReason? { nil }

  private func dims(_ site: ConvSite) -> (mg: Int, n: Int) {
    (site.outputChannels / site.group, site.inputChannelsPerGroup * site.kernelArea)
  }

  func fullRanks(_ site: ConvSite) -> [Int] {
    let (mg, n) = dims(site)
    return [min(mg, n)]
  }

  func uniformRanks(_ site: ConvSite, rank: Int) -> [Int] { [max(1, min(rank, fullRanks(site)[0]))] }

  func cost(_ site: ConvSite, ranks: [Int]) -> Cost {
    let (mg, n) = dims(site)
    let p = site.group * SVDFactors.parameterCount(shape: [mg, n], rank: ranks[0])
    return Cost(params: p, multiplyAdds: p)
  }

  func chain(_ site: ConvSite, ranks: [Int], at g: SiteGeometry) -> [CostNode] {
    let r = site.group * ranks[0], p = g.outputPositions
    guard site.kind == .conv else {
      return [.matMul(rows: p, inputFeatures: site.inputChannelsPerGroup, outputFeatures: r),
              .matMul(rows: p, inputFeatures: r, outputFeatures: site.outputChannels)]
    }
    return [
      .conv(inputChannels: site.inputChannelsPerGroup * site.group, outputChannels: r, group: site.group, kernelArea: site.kernelArea,
            inputPositions: g.inputPositions, outputPositions: p),
      .conv(inputChannels: r, outputChannels: site.outputChannels, group: site.group, kernelArea: 1, inputPositions: p, outputPositions: p),
    ]
  }

  func curve(_ site: ConvSite, kernel: Tensor, context: ShuffleContext) throws -> [CurvePoint]? {
    let spectra = try factorGroups(kernel, groups: site.group) {
      try singularValues($0.reshaped([$0.shape[0], $0.count / $0.shape[0]]))
    }
    let errors = combinedTruncationErrors(spectra)
    return (1..<errors.count).map { r in
      CurvePoint(format: .svd, ranks: [r], params: cost(site, ranks: [r]).params, error: errors[r])
    }
  }

  func factor(_ kernel: Tensor, site: ConvSite, ranks: [Int], context: ShuffleContext) throws -> Factorization {
    let fits = try factorGroups(kernel, groups: site.group) { g in
      (try lowRankSVD(g, rank: ranks[0]), g.frobeniusNorm)
    }
    let error = combinedError(fits.map { ($0.0.relativeError, $0.1) })
    return Factorization(format: .svd, ranks: ranks, relativeError: error, factors: fits.map(\.0.factors))
  }

  func emit(_ groups: [SVDFactors], of f: Factorization, into e: inout ChainEmitter) throws {
    let site = e.site
    let r = f.ranks[0]
    let right = stackedScalars(groups.map(\.right))  // [g·r, C/g·k…]
    let left = stackedScalars(groups.map(\.left))  // [M, r]
    let node = site.node
    switch site.kind {
    case .conv:
      let ones = site.kernelSize.map { _ in 1 }
      let w1 = e.initializer("svd_right", right, shape: [site.group * r, site.inputChannelsPerGroup] + site.kernelSize)
      let w2 = e.initializer("svd_left", left, shape: [site.outputChannels, r] + ones)
      let t = e.conv(node.inputs[0], weight: w1, bias: nil, attributes: e.spatialAttributes(group: site.group), suffix: "svd_conv1")
      let bias = f.bias.map { e.bias("svd_bias", $0, shape: [site.outputChannels]) } ?? site.biasName
      e.conv(t, weight: w2, bias: bias, attributes: e.pointwiseAttributes(group: site.group), suffix: "svd_conv2", output: node.outputs[0])
    case .gemm:
      let k = site.inputChannelsPerGroup
      let w1 = e.initializer("svd_right", right, shape: [r, k])
      let w2 = e.initializer("svd_left", left, shape: [site.outputChannels, r])
      var first: [Attribute] = [Attribute("transB", .int(1))]
      if node.int("transA", default: 0) != 0 { first.append(Attribute("transA", .int(1))) }
      let t = e.node("Gemm", inputs: [node.inputs[0], w1], attributes: first, suffix: "svd_gemm1")
      var second: [Attribute] = [Attribute("transB", .int(1))]
      if let a = node.attribute("alpha") { second.append(Attribute("alpha", a)) }
      if let b = node.attribute("beta") { second.append(Attribute("beta", b)) }
      var inputs = [t, w2]
      if let bias = site.biasName { inputs.append(bias) }
      e.node("Gemm", inputs: inputs, attributes: second, suffix: "svd_gemm2", output: node.outputs[0])
    case .matMul:
      let k = site.inputChannelsPerGroup
      let rt = Tensor(shape: [r, k], scalars: right).transposed([1, 0])
      let lt = Tensor(shape: [site.outputChannels, r], scalars: left).transposed([1, 0])
      let w1 = e.initializer("svd_right", rt.scalars, shape: [k, r])
      let w2 = e.initializer("svd_left", lt.scalars, shape: [r, site.outputChannels])
      let t = e.node("MatMul", inputs: [node.inputs[0], w1], suffix: "svd_matmul1")
      e.node("MatMul", inputs: [t, w2], suffix: "svd_matmul2", output: node.outputs[0])
    }
  }
}

/// Relative error of a grouped fit: √(Σ (eᵢ‖Wᵢ‖)²) / √(Σ ‖Wᵢ‖²).
func combinedError(_ parts: [(error: Double, norm: Double)]) -> Double {
  let total = parts.reduce(0) { $0 + $1.norm * $1.norm }
  guard total > 0 else { return 0 }
  return (parts.reduce(0) { $0 + pow2($1.error * $1.norm) } / total).squareRoot()
}

/// Truncation errors of a grouped svd at each uniform rank r = 0…min rank, from the spectra.
func combinedTruncationErrors(_ spectra: [[Float]]) -> [Double] {
  let n = spectra.map(\.count).min() ?? 0
  let total = spectra.reduce(0.0) { $0 + $1.reduce(0.0) { $0 + pow2(Double($1)) } }
  guard total > 0 else { return [Double](repeating: 0, count: n + 1) }
  return (0...n).map { r in
    let tail = spectra.reduce(0.0) { acc, s in acc + s[r...].reduce(0.0) { $0 + pow2(Double($1)) } }
    return (tail / total).squareRoot()
  }
}

@inline(__always) func pow2(_ x: Double) -> Double { x * x }
