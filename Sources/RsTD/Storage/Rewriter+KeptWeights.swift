import ONNX
import TensorAlgebra

extension Rewriter {
  /// Under `--weights fp16|int8`, stores the constant weight of every kept Conv/Gemm/MatMul in
  /// that type, rebuilt by Cast (→ Mul) just before its first reader, and fills the kept rows'
  /// `weights` and `relativeError` (the storage error alone). A weight is re-stored only when
  /// every reader is such a node reading it as its weight (input 1): a weight any other node,
  /// a subgraph or a graph output also reads stays fp32 for all, and the row says why.
  /// - Parameter detached: receives the replaced weights, for `removeUnused`.
  func storeKeptWeights(in graph: inout Graph, rows: inout [SiteReport], opset: Int, detached: inout Set<String>) throws {
    guard options.weights != .fp32 else { return }
    let linear: Set<String> = ["Conv", "Gemm", "MatMul"]
    var done: [String: (weights: String, error: Double?)] = [:]
    for i in rows.indices where rows[i].status == .kept && linear.contains(rows[i].opType) {
      guard let w = rows[i].weight else { continue }
      if done[w] == nil { done[w] = try storeKept(w, in: &graph, opset: opset, detached: &detached) }
      rows[i].weights = done[w]!.weights
      rows[i].relativeError = done[w]!.error
    }
  }

  /// The per-site error bound of `--max-error` (or the default policy) for a weight of `shape`,
  /// which storage must meet on kept weights too; nil under policies without one.
  private func keptBound(shape: [Int]) -> Double? {
    let spatial = shape.count > 2 && shape.dropFirst(2).reduce(1, *) > 1
    switch options.ranks {
    case .maxError(let e): return e
    case .maxErrorByKernel(let s, let p): return spatial ? s : p
    case .full, .fixed, .ratio: return nil
    }
  }

  /// How `storeKept` stores the weight `w` of `graph`: quantized, with its relative storage
  /// error, or left fp32 with the report's reason. The one place that decides it, so that the
  /// storage allocation's measured candidates (`StoredWeightRuns`) are the models it builds.
  func keptForm(_ w: String, in graph: Graph, opset: Int) throws -> KeptForm {
    guard let c = try graph.constant(w), let type = c.elementType else {
      return .fp32("fp32 (weight is not a constant float tensor)")
    }
    let storage = SiteStorage(options, weight: w, elementType: type, opset: opset)
    guard storage.storage != .fp32 else { return .fp32(storage.description([])) }
    switch c.source {
    case .initializer, .constantNode: break
    default: return .fp32("fp32 (weight is a \(c.source), which stays as it is)")
    }
    let readers = graph.consumers(of: w)
    let linear: Set<String> = ["Conv", "Gemm", "MatMul"]
    if graph.hasOtherUses(w) { return .fp32("fp32 (weight is also a graph output or read by a subgraph)") }
    if let other = readers.map(graph.node).first(where: { !($0.isDefaultDomain && linear.contains($0.opType) && $0.inputs.firstIndex(of: w) == 1 && $0.inputs.lastIndex(of: w) == 1) }) {
      return .fp32("fp32 (weight also read by \(other.opType) '\(other.name)' other than as its weight)")
    }
    let values = try c.floats()
    guard values.allSatisfy(\.isFinite) else { return .fp32("fp32 (weight holds NaN or infinite values)") }
    let quantized: QuantizedWeight?
    switch storage.storage {
    case .fp32: return .fp32(storage.description([]))
    case .fp16: quantized = QuantizedWeight.float16(values)
    case .int8: quantized = QuantizedWeight.int8(values, shape: c.shape)
    }
    guard let q = quantized else {
      return .fp32("fp32 (|w| up to \(values.map(abs).max() ?? 0) exceeds FLOAT16's \(HalfPrecision.largestFinite))")
    }
    let norm = Tensor(shape: c.shape, scalars: values).frobeniusNorm
    let error = norm > 0 ? q.squaredError.squareRoot() / norm : 0
    if let bound = keptBound(shape: c.shape), error > bound {
      return .fp32("fp32 (\(storage.storage.rawValue) storage error \(error) exceeds the bound \(bound))")
    }
    return .stored(q, shape: c.shape, error: error, description: storage.description([q.note("kept weight")]))
  }

  /// Re-stores one kept weight (`keptForm`); returns the report's description and error.
  func storeKept(_ w: String, in graph: inout Graph, opset: Int, detached: inout Set<String>) throws -> (weights: String, error: Double?) {
    switch try keptForm(w, in: graph, opset: opset) {
    case .fp32(let reason):
      return (reason, nil)
    case .stored(let q, let shape, let error, let description):
      // The first reader in graph order gets the rebuild just before it (ordered without a map
      // of every node's position: that made storing each of n weights O(n), n² in all).
      let ordered = graph.inGraphOrder(graph.consumers(of: w))
      let rebuilt = graph.addStoredWeight(q, shape: shape, stem: w)
      graph.insert(rebuilt.nodes, before: ordered[0])
      for id in ordered { graph.setInput(of: id, at: 1, to: rebuilt.output) }
      detached.insert(w)
      return (description, error)
    }
  }
}

/// What `Rewriter.keptForm` decides for one kept weight.
enum KeptForm {
  /// Left float32, with the report's reason.
  case fp32(String)
  /// Stored as `QuantizedWeight` (its `dequantized` values are what the rebuild folds to), with
  /// the weight's shape, its relative storage error and the report's description.
  case stored(QuantizedWeight, shape: [Int], error: Double, description: String)
}
