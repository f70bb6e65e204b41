/// What the runtime cost model says about a site's chain: the latency guard, rank alignment and
/// the objectives' cost axis.
extension Planner {
  /// The runtime cost model at the options' channel block (`--channel-align 1` turns alignment
  /// off; the model then keeps the block it was fitted with).
  var costModel: RuntimeCostModel {
    options.channelAlign > 1 ? RuntimeCostModel.onnxruntimeCPU.with(block: options.channelAlign) : .onnxruntimeCPU
  }

  /// Predicted onnxruntime latency (µs) of the site's original node.
  func denseLatency(_ site: ConvSite) -> Double {
    costModel.predict(site.denseChain(at: geometry.geometry(of: site)))
  }

  /// Predicted onnxruntime latency (µs) of `f`'s chain at `ranks`.
  func latency(_ site: ConvSite, _ f: any ConvFormat, ranks: [Int]) -> Double {
    costModel.predict(f.chain(site, ranks: ranks, at: geometry.geometry(of: site)))
  }

  /// Nil when `f` at `ranks` is worth emitting, else why not: it must store fewer parameters
  /// than the original and, in the factorized layout, do fewer multiply-adds per position and
  /// be predicted faster in onnxruntime (the latency guard, unless turned off). `force` emits
  /// anything, except on the output check's back-off levels factors that store the layer's
  /// parameter count or more (`RewriteOptions.backOffLevel`).
  func unprofitableReason(_ site: ConvSite, _ f: any ConvFormat, ranks: [Int]) -> SkipReason? {
    let c = f.cost(site, ranks: ranks)
    if options.force && (options.admitsLargerFactors || c.params < site.parameterCount) { return nil }
    let fewerMACs = options.layout == .reconstructed || c.multiplyAdds < site.multiplyAdds
    guard c.params < site.parameterCount, fewerMACs else {
      return .notProfitable(paramsBefore: site.parameterCount, paramsAfter: c.params, macsBefore: site.multiplyAdds, macsAfter: c.multiplyAdds)
    }
    guard options.layout == .factorized, options.latencyGuard else { return nil }
    let (before, after) = (denseLatency(site), latency(site, f, ranks: ranks))
    return after < before ? nil : .slowerThanDense(before: before, after: after)
  }

  /// Whether every channel count the chain creates (its convs' outputs but the last) is a
  /// multiple of the block, so that onnxruntime pads nothing. Linear layers and kron (whose
  /// channel counts follow from the factor splits) are always aligned.
  func isAligned(_ site: ConvSite, _ f: any ConvFormat, ranks: [Int]) -> Bool {
    let block = options.channelAlign
    guard block > 1, site.kind == .conv, f.method != .kron else { return true }
    if ranks == f.fullRanks(site) { return true }
    let inner = f.chain(site, ranks: ranks, at: SiteGeometry(inputPositions: 1, outputPositions: 1)).dropLast()
    return inner.allSatisfy { node in
      if case .conv(_, let out, _, _, _, _) = node { return out % block == 0 }
      return true
    }
  }

  /// A point's cost under the objective, in whole units: parameters, multiply-adds per output
  /// position, or nanoseconds (latency). `bytesPerParameter` prices parameters under `--weights`.
  func objectiveCost(_ site: ConvSite, _ f: (any ConvFormat)?, ranks: [Int], bytesPerParameter: Int = 1) -> Int {
    switch options.objective {
    case .params:
      return (f?.cost(site, ranks: ranks).params ?? site.parameterCount) * bytesPerParameter
    case .macs:
      return f?.cost(site, ranks: ranks).multiplyAdds ?? site.multiplyAdds
    case .latency:
      let micros = f.map { latency(site, $0, ranks: ranks) } ?? denseLatency(site)
      // Capped at 2⁴⁰ ns (18 minutes) a site, so sums over millions of sites stay in an Int.
      return Int(min(micros * 1000, 0x1p40).rounded())
    }
  }
}
