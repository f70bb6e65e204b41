/// How the report's predicted latencies were made: the runtime cost model (docs/latency.md) and
/// where the positions each chain runs at came from.
public struct LatencyPrediction: Codable, Equatable, Sendable {
  /// The runtime modelled and its channel block.
  public var runtime: String
  /// "measured on …" (one run of the original) or "nominal: …" (the model was not run).
  public var positions: String
}

extension Planner {
  var latencyPrediction: LatencyPrediction {
    LatencyPrediction(
      runtime: "onnxruntime CPU, 1 thread, channel block \(options.channelAlign) (docs/latency.md)", positions: geometry.basis)
  }
}
