/// One node of a chain as the runtime cost model sees it. Positions are N·∏spatial of the tensor.
public enum CostNode: Equatable, Sendable {
  case conv(inputChannels: Int, outputChannels: Int, group: Int, kernelArea: Int, inputPositions: Int, outputPositions: Int)
  /// A Gather along the channel axis of a tensor with `channels` channels.
  case channelGather(channels: Int, positions: Int)
  /// Gemm/MatMul: rows × inputFeatures × outputFeatures.
  case matMul(rows: Int, inputFeatures: Int, outputFeatures: Int)
}
