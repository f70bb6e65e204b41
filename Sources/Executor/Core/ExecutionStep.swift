/// One node of a plan: its compiled op, where its inputs come from, where its outputs go, and
/// which slots die once it has run.
struct ExecutionStep: Sendable {
  let nodeName: String
  /// The node's position in the compiled graph's order (a fused step: its Conv's), where
  /// `Executor.resume(at:values:)` starts.
  let position: Int
  let opType: String
  let op: any Operator
  /// Slot per input, nil for an omitted optional input.
  let inputs: [Int?]
  /// Slot per output, nil for an output the node leaves unnamed.
  let outputs: [Int?]
  /// Slots whose last reader is this step (or that nothing reads), released after it runs.
  var frees: [Int]
}
