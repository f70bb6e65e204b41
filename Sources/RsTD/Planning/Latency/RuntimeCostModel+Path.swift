/// Which kernel onnxruntime runs a node with: its NCHWc transformer
/// (onnxruntime/core/optimizer/nchwc_transformer.cc, `TransformConv`) moves a 2-D Conv with
/// constant float weights to the blocked NCHWc path when these rules hold; `bench/latency/fit.py`
/// checks them against the installed onnxruntime on every fit.
enum ConvPath: Equatable {
  /// Blocked input and output; channels padded up to the block.
  case blocked
  /// Fewer input channels than the block: reads the NCHW tensor as is, writes NCHWc.
  case stem
  /// Depthwise (one input channel per group, as many groups as outputs), channels padded.
  case depthwise
  /// Off the blocked path: NCHW in and out, im2col + GEMM per group.
  case unblocked
}

/// The layout a tensor is in between two nodes.
public enum TensorLayout: Sendable, Equatable {
  /// Plain NCHW (what Gather, and convs off the blocked path, read and write).
  case nchw
  /// NCHWc: channels in blocks of `block`, zero-padded (what blocked convs read and write).
  case blocked
}

extension RuntimeCostModel {
  /// ReorderInput needs the channel count to be a multiple of 4, whatever the block.
  static let reorderAlignment = 4

  /// Whether onnxruntime runs `node` on the blocked NCHWc path (stem and depthwise convs included).
  public func isBlocked(_ node: CostNode) -> Bool {
    guard case .conv = node else { return false }
    return convPath(node) != .unblocked
  }

  func convPath(_ node: CostNode) -> ConvPath {
    guard case let .conv(cin, cout, group, _, _, _) = node, cin > 0, cout > 0, group > 0 else { return .unblocked }
    let align = Self.reorderAlignment
    let block = max(1, self.block)
    if group == 1 {
      if cin < block { return .stem }
      return cin % align == 0 ? .blocked : .unblocked
    }
    // Grouped: the output channels must align, then either depthwise or whole blocks per group.
    guard cout % align == 0 else { return .unblocked }
    if cin == group && cout == group { return .depthwise }
    guard cin % group == 0, cout % group == 0 else { return .unblocked }
    return (cin / group) % block == 0 && (cout / group) % block == 0 ? .blocked : .unblocked
  }

  /// The layouts `node` reads and writes; nil for MatMul, which works on 2-D tensors outside
  /// the conv layouts and so never causes a reorder.
  func layouts(_ node: CostNode) -> (input: TensorLayout, output: TensorLayout)? {
    switch node {
    case .matMul: return nil
    case .channelGather: return (.nchw, .nchw)
    case .conv:
      switch convPath(node) {
      case .blocked, .depthwise: return (.blocked, .blocked)
      case .stem: return (.nchw, .blocked)
      case .unblocked: return (.nchw, .nchw)
      }
    }
  }
}
