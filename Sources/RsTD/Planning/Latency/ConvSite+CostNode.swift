extension ConvSite {
  /// The original node as the runtime cost model sees it.
  func denseChain(at g: SiteGeometry) -> [CostNode] {
    switch kind {
    case .conv:
      [.conv(inputChannels: inputChannelsPerGroup * group, outputChannels: outputChannels, group: group, kernelArea: kernelArea,
             inputPositions: g.inputPositions, outputPositions: g.outputPositions)]
    case .gemm, .matMul:
      [.matMul(rows: g.outputPositions, inputFeatures: inputChannelsPerGroup, outputFeatures: outputChannels)]
    }
  }
}
