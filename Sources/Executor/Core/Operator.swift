/// A compiled node: attributes already decoded and checked, ready to run many times.
///
/// `run` receives the node's inputs in order (nil for an omitted optional input) and returns
/// its outputs in order; it may return fewer outputs than the node names when trailing ones are
/// optional and unused. Run-time problems (shape or type mismatches) are thrown as `OpFailure`
/// and reported with the node's name by the plan.
protocol Operator: Sendable {
  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue]
}

/// A run-time failure inside an op; the plan adds the node and op names.
///
/// Most failures are the model's (a shape or type the spec forbids: `ExecutorError.runtime`);
/// `limit` marks the executor's own limits (a tensor larger than it allocates, training-mode
/// randomness), which a valid model can hit (`ExecutorError.unsupported`).
struct OpFailure: Error {
  let detail: String
  let isLimit: Bool
  init(_ detail: String, limit: Bool = false) {
    self.detail = detail
    self.isLimit = limit
  }

  /// The executor error of this failure at node `node` (op `op`); `prefix` says where it ran.
  func error(node: String, op: String, prefix: String = "") -> ExecutorError {
    isLimit ? .unsupported(node: node, op: op, detail: prefix + detail) : .runtime(node: node, op: op, detail: prefix + detail)
  }
}

/// What an op may use while running.
struct RunContext: Sendable {
  /// Worker threads for the heavy kernels (at least 1); results do not depend on it.
  let threads: Int
  /// Buffers this run freed, for outputs that overwrite every element (`RunBuffers`); nil where
  /// ops run on several threads at once with one context (constant folding).
  var buffers: RunBuffers? = nil
}
