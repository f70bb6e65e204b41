// kron — shuffled Kronecker decomposition, the RsTD chain of channel shuffles and smaller
// convolutions (Li et al. 2018, arXiv 1810.13098; Kronecker layers after Zhou et al. 2015).
//
// M = C1·C2, C = A1·A2, channel permutations π_out, π_in (identity, seeded, or searched).
// W'[o', i'] = W[π_out[o'], π_in[i']], o' = c1·C2 + c2, i' = a1·A2 + a2, and
// W'[(c1,c2), (a1,a2), h, w] ≈ Σ_r A_r[c1, a1] · B_r[c2, a2, h, w] (SVD of the rearrangement).
// Chain: Gather(axis 1, π_in)
//        → Conv(group A1, weight Tile(B)[A1·R·C2, A2, k…], original spatial attributes)  channels (a1, r, c2)
//        → Gather(axis 1, ρ)                                                           channels (c2, a1, r)
//        → Conv(1…, group C2, weight Tile(A')[C2·C1, A1·R, 1…], permuted bias)           channels (c2, c1)
//        → Gather(axis 1, τ)                                                           original order
// B and A' are stored once; Tile (opset ≥ 6) is folded by runtimes at load.
// Cost per output position: R·(C2·C·k… + M·A1); parameters R·(C1·A1 + C2·A2·k…).
import ONNX
import TensorAlgebra

struct KronFormat: ConvFormat {
  typealias Factors = ShuffledKronFactors

  var method: Method { .kron }

  /// The most balanced split n = a·b with a ≤ b.
  static func split(_ n: Int) -> (Int, Int) {
    var a = Int(Double(n).squareRoot())
    while a > 1 && n % a != 0 { a -= 1 }
    return (a, n / a)
  }

  func unsupportedReason(_ site: ConvSite, opset: Int) -> SkipReason? {
    if site.kind != .conv { return .formatUnsupported(format: "kron", why: "Gemm/MatMul use svd") }
    if site.group != 1 { return .formatUnsupported(format: "kron", why: "grouped convs use svd or tucker2") }
    if opset < 6 { return .opsetTooOld(op: "Tile with a repeats input", needed: 6, have: opset) }
    let (c1, _) = KronFormat.split(site.outputChannels), (a1, _) = KronFormat.split(site.inputChannelsPerGroup)
    if c1 == 1 || a1 == 1 {
      return .formatUnsupported(format: "kron", why: "channel counts M=\(site.outputChannels), C=\(site.inputChannelsPerGroup) have no non-trivial factor split")
    }
    return nil
  }

  private func splits(_ site: ConvSite) -> (out: (Int, Int), in: (Int, Int)) {
    (KronFormat.split(site.outputChannels), KronFormat.split(site.inputChannelsPerGroup))
  }

  func fullRanks(_ site: ConvSite) -> [Int] {
    let s = splits(site)
    return [min(s.out.0 * s.in.0, s.out.1 * s.in.1 * site.kernelArea)]
  }

  func uniformRanks(_ site: ConvSite, rank: Int) -> [Int] { [max(1, min(rank, fullRanks(site)[0]))] }

  func cost(_ site: ConvSite, ranks: [Int]) -> Cost {
    let r = ranks[0], s = splits(site), k = site.kernelArea
    return Cost(
      params: KronFactors.parameterCount(outputSplit: s.out, inputSplit: s.in, spatial: site.kernelSize, rank: r),
      multiplyAdds: r * (s.out.1 * site.inputChannelsPerGroup * k + site.outputChannels * s.in.0))
  }

  /// The channel shuffles in and out are counted even when identity (then not emitted): kron
  /// is asked for by name, and the estimate errs on the slow side.
  func chain(_ site: ConvSite, ranks: [Int], at g: SiteGeometry) -> [CostNode] {
    let r = ranks[0], s = splits(site), c = site.inputChannelsPerGroup
    let (pi, po) = (g.inputPositions, g.outputPositions)
    let mid = s.in.0 * r * s.out.1
    return [
      .channelGather(channels: c, positions: pi),
      .conv(inputChannels: c, outputChannels: mid, group: s.in.0, kernelArea: site.kernelArea, inputPositions: pi, outputPositions: po),
      .channelGather(channels: mid, positions: po),
      .conv(inputChannels: mid, outputChannels: site.outputChannels, group: s.out.1, kernelArea: 1, inputPositions: po, outputPositions: po),
      .channelGather(channels: site.outputChannels, positions: po),
    ]
  }

  /// Candidate permutations: identity for `none`, one seeded pair for `random`, the identity
  /// and `candidates` seeded pairs for `search`. Seeds: π_out from `seed + 2j`, π_in from `seed + 2j + 1`.
  func permutations(_ site: ConvSite, _ context: ShuffleContext) -> [(out: [Int], in: [Int], label: String)] {
    let m = site.outputChannels, c = site.inputChannelsPerGroup
    let identity = (Array(0..<m), Array(0..<c), "none")
    func seeded(_ j: UInt64) -> ([Int], [Int], String) {
      let s = context.seed &+ 2 &* j
      return (seededPermutation(count: m, seed: s), seededPermutation(count: c, seed: s &+ 1), "random seed \(s)")
    }
    switch context.mode {
    case .none: return [identity]
    case .random: return [seeded(0)]
    case .search: return [identity] + (0..<UInt64(context.candidates)).map(seeded)
    }
  }

  func curve(_ site: ConvSite, kernel: Tensor, context: ShuffleContext) throws -> [CurvePoint]? {
    let p = permutations(site, context)[0]
    let s = splits(site)
    let fit = try kron(kernel, outputSplit: s.out, inputSplit: s.in, rank: 1, outputPermutation: p.out, inputPermutation: p.in)
    let errors = truncationErrors(singularValues: fit.singularValues)
    return (1..<errors.count).map { r in
      CurvePoint(format: .kron, ranks: [r], params: cost(site, ranks: [r]).params, error: errors[r])
    }
  }

  func factor(_ kernel: Tensor, site: ConvSite, ranks: [Int], context: ShuffleContext) throws -> Factorization {
    let s = splits(site)
    var best: Factorization? = nil
    for p in permutations(site, context) {
      let fit = try kron(kernel, outputSplit: s.out, inputSplit: s.in, rank: ranks[0], outputPermutation: p.out, inputPermutation: p.in)
      if best == nil || fit.relativeError < best!.relativeError {
        let layout = KronLayout(outputSplit: s.out, inputSplit: s.in, outputPermutation: p.out, inputPermutation: p.in)
        best = Factorization(format: .kron, ranks: ranks, relativeError: fit.relativeError, factors: ShuffledKronFactors(factors: fit.factors, layout: layout), shuffleDescription: p.label)
      }
    }
    return best!
  }

  func emit(_ kron: ShuffledKronFactors, of f: Factorization, into e: inout ChainEmitter) throws {
    let (factors, layout) = (kron.factors, kron.layout)
    let site = e.site
    let r = f.ranks[0]
    let (c1, c2) = layout.outputSplit, (a1, a2) = layout.inputSplit
    let m = site.outputChannels
    let ones = site.kernelSize.map { _ in 1 }
    let zeros = site.kernelSize.map { _ in 1 }
    let node = site.node
    let identityIn = layout.inputPermutation == Array(0..<layout.inputPermutation.count)

    // x'[i'] = x[π_in[i']]
    var x = node.inputs[0]
    if !identityIn { x = e.gather(x, indices: layout.inputPermutation, axis: 1, suffix: "kron_shuffle_in") }
    // B stored once as [R·C2, A2, k…]; conv1 weight = Tile(B, [A1, 1, …]).
    let b = e.initializer("kron_b", factors.b.scalars, shape: [r * c2, a2] + site.kernelSize)
    let reps1 = e.int64s("kron_b_repeats", [a1, 1] + zeros, shape: [2 + zeros.count])
    let w1 = e.node("Tile", inputs: [b, reps1], suffix: "kron_b_tile")
    var attrs1 = e.spatialAttributes(group: a1)
    if a1 == 1 { attrs1 = e.spatialAttributes(group: 1) }
    let z = e.conv(x, weight: w1, bias: nil, attributes: attrs1, suffix: "kron_conv1")
    // ρ: (a1, r, c2) → (c2, a1, r)
    var rho = [Int](repeating: 0, count: a1 * r * c2)
    for q2 in 0..<c2 { for q1 in 0..<a1 { for q in 0..<r { rho[(q2 * a1 + q1) * r + q] = (q1 * r + q) * c2 + q2 } } }
    let zr = e.gather(z, indices: rho, axis: 1, suffix: "kron_regroup")
    // A'[c1, (a1, r)] = A_r[c1, a1], stored once as [C1, A1·R, 1…]; conv2 weight = Tile(A', [C2, 1, …]).
    var aPrime = [Float](repeating: 0, count: c1 * a1 * r)
    for o in 0..<c1 { for i in 0..<a1 { for q in 0..<r { aPrime[(o * a1 + i) * r + q] = factors.a.scalars[(q * c1 + o) * a1 + i] } } }
    let a = e.initializer("kron_a", aPrime, shape: [c1, a1 * r] + ones)
    let reps2 = e.int64s("kron_a_repeats", [c2, 1] + zeros, shape: [2 + zeros.count])
    let w2 = e.node("Tile", inputs: [a, reps2], suffix: "kron_a_tile")
    // Output of conv2 is ordered q = c2·C1 + c1 for o' = c1·C2 + c2, original channel π_out[o'].
    var tau = [Int](repeating: 0, count: m)
    var biasName: String? = nil
    var permutedBias: [Int] = []
    for o1 in 0..<c1 { for o2 in 0..<c2 {
      tau[layout.outputPermutation[o1 * c2 + o2]] = o2 * c1 + o1
    } }
    if let bias = site.biasName {
      permutedBias = (0..<m).map { q in layout.outputPermutation[(q % c1) * c2 + q / c1] }
      biasName = e.gather(bias, indices: permutedBias, axis: 0, suffix: "kron_bias")
    }
    let y = e.conv(zr, weight: w2, bias: biasName, attributes: e.pointwiseAttributes(group: c2), suffix: "kron_conv2")
    e.gather(y, indices: tau, axis: 1, suffix: "kron_unshuffle_out", output: node.outputs[0])
  }
}
