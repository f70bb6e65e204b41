/// Predicted onnxruntime CPU latency (1 thread, graph optimizations ALL) of a chain of nodes.
///
/// Each node costs a fixed kernel overhead plus terms linear in work the kernel actually does:
/// blocked convs pay for channels padded up to the NCHWc block, so ranks between two block
/// multiples cost the same; convs off the blocked path (and channel Gathers) pay for the reorders
/// their NCHW tensors need where they meet blocked neighbours. A blocked conv's kernel work and
/// its memory streams overlap, so it pays the larger of the two (a roofline): a 1×1 over a large
/// activation with few output blocks is memory-bound, a wide one compute-bound. The constants (µs) are fitted
/// from measurements by `bench/latency/fit.py`; docs/latency.md describes the terms.
public struct RuntimeCostModel: Sendable, Codable, Equatable {
  /// The NCHWc channel block (MlasNchwcGetBlockSize: 16 with AVX-512F, 8 with AVX2).
  public var block: Int
  /// Per executed kernel: each Conv, Gather, MatMul, and each reorder inserted between layouts.
  public var nodeOverhead: Double
  /// Per multiply-add of a blocked k×k (k > 1) conv, channels rounded up to the block.
  public var blockedMAC: Double
  /// Per multiply-add of a blocked 1×1 conv (its own MLAS kernel), channels rounded up.
  public var pointwiseMAC: Double
  /// Per multiply-add of a stem conv (input channels < block, read from NCHW unpadded).
  public var stemMAC: Double
  /// Per multiply-add of a blocked depthwise conv, channels rounded up.
  public var depthwiseMAC: Double
  /// Per filter-set pass of a blocked conv: MLAS computes at most four output blocks per pass
  /// over the input, so a conv with few output blocks pays input loads a larger one amortizes.
  public var filterSetLoad: Double
  /// Per element a blocked conv reads or writes (channels rounded up); memory side of the roofline.
  public var blockedElement: Double
  /// Per filter element (channels rounded up) a blocked, stem or depthwise conv streams: what a
  /// conv at one position (squeeze/excite) mostly costs.
  public var filterElement: Double
  /// Per element a blocked conv streams from beyond the cache: the part of its input (once per
  /// filter-set pass) and of its output past `cacheElements`.
  public var spillElement: Double
  /// Per multiply-add of a conv off the blocked path (im2col + GEMM).
  public var unblockedMAC: Double
  /// Per element of an off-path conv's GEMM operand (its im2col buffer, or the input of a 1×1),
  /// which MLAS packs once per group: small per-group GEMMs do not amortize it.
  public var unblockedPack: Double
  /// Extra per im2col element of a strided off-path conv (gathered one by one, not row copies).
  public var stridedIm2col: Double
  /// Per group of an off-path conv: one im2col + GEMM call each.
  public var groupCall: Double
  /// Per element of an NCHW↔NCHWc reorder (blocked side, channels rounded up).
  public var reorderElement: Double
  /// Per element a channel Gather reads or writes.
  public var gatherElement: Double
  /// Per multiply-add of a MatMul/Gemm.
  public var matMulMAC: Double
  /// Tensor size (elements) past which a blocked conv's streams spill out of the cache (fitted).
  public var cacheElements: Double

  public init(
    block: Int = 16, nodeOverhead: Double, blockedMAC: Double, pointwiseMAC: Double, stemMAC: Double,
    depthwiseMAC: Double, filterSetLoad: Double, blockedElement: Double, filterElement: Double, spillElement: Double,
    unblockedMAC: Double, unblockedPack: Double, stridedIm2col: Double, groupCall: Double, reorderElement: Double,
    gatherElement: Double, matMulMAC: Double, cacheElements: Double
  ) {
    self.block = max(1, block)
    self.nodeOverhead = nodeOverhead
    self.blockedMAC = blockedMAC
    self.pointwiseMAC = pointwiseMAC
    self.stemMAC = stemMAC
    self.depthwiseMAC = depthwiseMAC
    self.filterSetLoad = filterSetLoad
    self.blockedElement = blockedElement
    self.filterElement = filterElement
    self.spillElement = spillElement
    self.unblockedMAC = unblockedMAC
    self.unblockedPack = unblockedPack
    self.stridedIm2col = stridedIm2col
    self.groupCall = groupCall
    self.reorderElement = reorderElement
    self.gatherElement = gatherElement
    self.matMulMAC = matMulMAC
    self.cacheElements = cacheElements
  }

  /// The same constants with another channel block (`--channel-align N`): only rounding changes.
  public func with(block: Int) -> RuntimeCostModel {
    var model = self
    model.block = max(1, block)
    return model
  }

  /// Microseconds for the whole chain, assuming the network around it is blocked: the chain's
  /// input arrives, and its output is consumed, in NCHWc (the usual case inside a CNN body).
  /// A node off the blocked path therefore pays a reorder on each side that meets a blocked one.
  public func predict(_ chain: [CostNode]) -> Double {
    predict(chain, neighbours: .blocked)
  }

  /// Microseconds for the whole chain when its input comes from, and its output goes to,
  /// tensors in `neighbours` layout (`.nchw` for a graph input/output, as the fit measures).
  public func predict(_ chain: [CostNode], neighbours: TensorLayout) -> Double {
    var total = 0.0
    var current = neighbours
    var last: (channels: Int, positions: Int)?
    for node in chain {
      total += cost(of: node)
      guard let layouts = layouts(node) else { continue }
      let io = node.io
      if current != layouts.input {
        total += reorderCost(channels: io.inputChannels, positions: io.inputPositions)
      }
      current = layouts.output
      last = (io.outputChannels, io.outputPositions)
    }
    if let last, current != neighbours {
      total += reorderCost(channels: last.channels, positions: last.positions)
    }
    return total
  }
}
