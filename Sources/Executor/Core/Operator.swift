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
struct OpFailure: Error {
  let detail: String
  init(_ detail: String) { self.detail = detail }
}

/// What an op may use while running.
struct RunContext: Sendable {
  /// Worker threads for the heavy kernels (at least 1); results do not depend on it.
  let threads: Int
}
