import Executor
import ONNX

/// Measures the geometry of every Conv, Gemm and MatMul by one run of the model on `input`
/// (the output check's first input): the latency model needs the positions each chain runs at.
enum GeometryProbe {
  /// - Returns: nil when the model cannot be run (the planner then uses nominal sizes).
  static func measure(_ model: Model, by executor: Executor, input: [String: TensorValue], described: String) -> SiteGeometries? {
    var kinds: [String: String] = [:]
    for node in model.graph.nodes where ["Conv", "Gemm", "MatMul"].contains(node.opType) {
      if let out = node.outputs.first, executor.plan.canObserve(out) { kinds[out] = node.opType }
    }
    var positions: [String: Int] = [:]
    do {
      _ = try executor.run(input, observing: Set(kinds.keys)) { name, value in
        guard let kind = kinds[name], !value.shape.isEmpty else { return }
        // Conv: N·∏spatial; Gemm: N; MatMul: every axis but the last.
        let axes: [Int] = kind == "Conv" ? [value.shape[0]] + Array(value.shape.dropFirst(2)) : kind == "Gemm" ? [value.shape[0]] : Array(value.shape.dropLast())
        positions[name] = cappedProduct(axes)
      }
    } catch {
      return nil
    }
    return SiteGeometries(outputPositions: positions, basis: "measured on \(described)")
  }
}
