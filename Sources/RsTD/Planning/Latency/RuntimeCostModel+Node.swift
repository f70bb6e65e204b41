/// The cost of one node, in Double throughout: counts come from untrusted files and a product
/// of four channel or position counts can exceed Int, so nothing here may trap.
extension RuntimeCostModel {
  /// MLAS's NCHWc kernels compute up to this many output blocks per pass over the input.
  static let filterSetBlocks = 4.0

  func cost(of node: CostNode) -> Double {
    switch node {
    case let .channelGather(channels, positions):
      return nodeOverhead + gatherElement * 2 * count(channels) * count(positions)
    case let .matMul(rows, inputFeatures, outputFeatures):
      return nodeOverhead + matMulMAC * count(rows) * count(inputFeatures) * count(outputFeatures)
    case let .conv(cin, cout, group, area, inPositions, outPositions):
      let (ci, co, g, k) = (count(cin), count(cout), max(1, count(group)), count(area))
      let (pin, pout) = (count(inPositions), count(outPositions))
      switch convPath(node) {
      case .unblocked:
        // One GEMM per group on a K×N operand (K = k·ci/g, N = outputs): im2col'd, or the input
        // itself for a 1×1, and packed either way.
        let operand = pout * k * ci
        return nodeOverhead + unblockedMAC * pout * k * co * ci / g + unblockedPack * operand
          + (pin != pout ? stridedIm2col * operand : 0) + groupCall * g
      case .stem:
        let rco = padded(co)
        return nodeOverhead + stemMAC * pout * k * rco * ci + filterSets(rco) * filterSetLoad * pout * k * ci
          + blockedElement * (pin * ci + pout * rco) + filterElement * k * rco * ci
          + spillElement * (spilled(pin * ci) + spilled(pout * rco))
      case .depthwise:
        let rc = padded(co)
        return nodeOverhead + depthwiseMAC * pout * k * rc + blockedElement * (pin + pout) * rc + filterElement * k * rc
          + spillElement * (spilled(pin * rc) + spilled(pout * rc))
      case .blocked:
        let (rci, rco) = (padded(ci), padded(co))
        let perGroupIn = g > 1 ? ci / g : rci
        let passes = filterSets(rco / g)
        let mac = k > 1 ? blockedMAC : pointwiseMAC
        // The kernel's work and its memory streams overlap: the larger of the two is paid.
        let compute = mac * pout * k * rco * perGroupIn + passes * g * filterSetLoad * pout * k * perGroupIn
        let memory = blockedElement * (pin * rci + pout * rco) + spillElement * (passes * spilled(pin * rci) + spilled(pout * rco))
        return nodeOverhead + filterElement * k * rco * perGroupIn + max(compute, memory)
      }
    }
  }

  /// A layout reorder between a blocked and an NCHW tensor: a kernel of its own.
  func reorderCost(channels: Int, positions: Int) -> Double {
    nodeOverhead + reorderElement * padded(count(channels)) * count(positions)
  }

  /// Passes over the input a blocked conv with `outputChannels` (padded) needs.
  private func filterSets(_ outputChannels: Double) -> Double {
    (outputChannels / (blockSize * Self.filterSetBlocks)).rounded(.up)
  }

  /// The part of a stream of `elements` beyond the cache.
  private func spilled(_ elements: Double) -> Double { max(0, elements - cacheElements) }

  /// Channels rounded up to a whole number of blocks.
  private func padded(_ channels: Double) -> Double {
    (channels / blockSize).rounded(.up) * blockSize
  }

  /// The block as a Double, at least 1 (`block` is settable and decodable, so not trusted).
  private var blockSize: Double { Double(max(1, block)) }

  /// A count as a Double; negative counts (invalid input) count as zero.
  private func count(_ value: Int) -> Double { Double(max(0, value)) }
}

extension CostNode {
  /// Channels and positions a node reads and writes (MatMul: features and rows).
  var io: (inputChannels: Int, inputPositions: Int, outputChannels: Int, outputPositions: Int) {
    switch self {
    case let .conv(cin, cout, _, _, pin, pout): return (cin, pin, cout, pout)
    case let .channelGather(channels, positions): return (channels, positions, channels, positions)
    case let .matMul(rows, inputFeatures, outputFeatures): return (inputFeatures, rows, outputFeatures, rows)
    }
  }
}
