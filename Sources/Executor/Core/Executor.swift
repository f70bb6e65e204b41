import CLAPACK
import ONNX

/// Runs a compiled ONNX model on CPU.
///
/// ```swift
/// let executor = try Executor(model: try Model.load(path: "m.onnx"))
/// let y = try executor.run(["x": TensorValue(shape: [1, 3, 8, 8], floats: pixels)])
/// ```
/// A run holds only the values still needed: each intermediate is released after its last
/// reader. Callers that want intermediates ask for them by name and receive each one as it is
/// produced (`observing:observer:`), so statistics stream in bounded memory.
public struct Executor: Sendable {
  /// The compiled plan.
  public let plan: ExecutionPlan
  public let options: ExecutorOptions

  /// Compiles `model` (see `ExecutionPlan.init(model:)`), consuming it: pass the last copy
  /// (`Executor(model: consume m)`) and each weight's protobuf bytes are freed once decoded.
  /// - Throws: `ExecutorError` for the first unsupported node, op, attribute or opset.
  public init(model: consuming Model, options: ExecutorOptions = ExecutorOptions()) throws {
    // Constant folding runs ops too: the same limit applies. The model moves into the plan.
    var handed: Model? = consume model
    self.plan = try Axes.$maxElements.withValue(options.maxElements) { try ExecutionPlan(
        model: handed.take()!, foldThreads: options.threads, foldsReplicated: options.foldsReplicatedConstants) }
    self.options = options
  }

  /// Runs the model once.
  /// - Parameters:
  ///   - inputs: one value per graph input, by name. FLOAT16, BFLOAT16 and DOUBLE values are
  ///     computed as FLOAT.
  ///   - observing: names of values to hand to `observer` (graph inputs or node outputs).
  ///   - observer: called once per observed value, right after it is produced, before the
  ///     value may be released; constants (folded at compile time) come first, then graph
  ///     inputs, then node outputs in execution order.
  /// - Returns: every graph output, by name.
  /// - Throws: `ExecutorError` for a missing or unknown input, an unknown observed name, or a
  ///   node that fails at run time; whatever `observer` throws.
  public func run(
    _ inputs: [String: TensorValue], observing: Set<String> = [],
    observer: (String, TensorValue) throws -> Void = { _, _ in }
  ) throws -> [String: TensorValue] {
    let slots = try execute(inputs, observing: observing, observer: observer, prefixOnly: false)
    var result: [String: TensorValue] = [:]
    for (name, s) in plan.outputs { result[name] = slots[s] }
    return result
  }

  /// Runs the model once with some weights' values replaced: the outputs, bit for bit, of the
  /// same model compiled with those values, without compiling it again (a search over candidate
  /// weights, e.g. which weights to store in a narrower type, runs one plan).
  /// - Parameter replacing: by name (an initializer or a Constant node's output), a value of its
  ///   shape and element type; only constants the plan reads as weights as it runs can be
  ///   replaced (`ExecutionPlan.canReplace`).
  /// - Throws: `ExecutorError.cannotReplace` before anything runs; otherwise as `run`.
  public func run(_ inputs: [String: TensorValue], replacing: [String: TensorValue]) throws -> [String: TensorValue] {
    let slots = try execute(inputs, observing: [], observer: { _, _ in }, prefixOnly: false, replacing: replacing)
    var result: [String: TensorValue] = [:]
    for (name, s) in plan.outputs { result[name] = slots[s] }
    return result
  }

  /// Runs the model only as far as `observing` needs: the steps up to the last one that
  /// produces an observed value, handing each to `observer` as `run` would (the same bits: a
  /// step's result does not depend on the steps after it). For callers that want intermediates
  /// and not the outputs (e.g. a layer's responses in the original model), at the cost of the
  /// prefix of the graph they lie in.
  /// - Throws: as `run`.
  public func observe(
    _ inputs: [String: TensorValue], observing: Set<String>, observer: (String, TensorValue) throws -> Void
  ) throws {
    _ = try execute(inputs, observing: observing, observer: observer, prefixOnly: true)
  }

  /// Runs the plan from graph position `position` on: only the steps of the nodes at or after
  /// it (positions in the order of the graph the plan was compiled from; a fused step is at its
  /// Conv's), with `values` standing for everything computed before: the live values at that
  /// point (held from an earlier run, or computed by another model: a changed stretch of the
  /// graph) and the graph inputs read after it. Each step computes what it would in a whole run
  /// given those values, bit for bit. Names the plan does not know are ignored.
  /// - Returns: every graph output, by name (given ones as given).
  /// - Throws: `ExecutorError.cannotResume` when a step left to run reads a value that is not
  ///   given, a constant or made by an earlier step left to run, when it would make a given
  ///   value again, or when an output is left unmade; as `run` for a failing step.
  /// - Parameter replacing: weights to run with, as `run(_:replacing:)`.
  public func resume(
    at position: Int, values: [String: TensorValue], replacing: [String: TensorValue] = [:]
  ) throws -> [String: TensorValue] {
    var slots = try constantSlots(replacing: replacing)
    var given = Set<Int>()
    for (name, value) in values {
      guard let s = plan.slotNames.slot(of: name) else { continue }
      var v = value
      if v.elementType.isFloatingPoint { v.elementType = .float }
      slots[s] = v
      given.insert(s)
    }
    // Checked before anything runs: a resumed run either computes every output or nothing.
    let fused = given.isDisjoint(with: plan.fusedAway)
    var available = slots.map { $0 != nil }
    let steps = fused ? plan.fusedSteps : plan.steps
    for i in steps.indices where steps[i].position >= position {  // in place: a copy of each step costs more
      for case let s? in steps[i].inputs where !available[s] {
        throw ExecutorError.cannotResume(detail: "node '\(steps[i].nodeName)' reads '\(plan.slotNames[s])', which is not given")
      }
      for case let s? in steps[i].outputs {
        if given.contains(s) {
          throw ExecutorError.cannotResume(detail: "node '\(steps[i].nodeName)' would make the given value '\(plan.slotNames[s])' again")
        }
        available[s] = true
      }
    }
    for (name, s) in plan.outputs where !available[s] {
      throw ExecutorError.cannotResume(detail: "the graph output '\(name)' is neither given nor made after position \(position)")
    }
    try runSteps(&slots, observed: [], observer: { _, _ in }, prefixOnly: false, from: position, unfused: !fused)
    var result: [String: TensorValue] = [:]
    for (name, s) in plan.outputs { result[name] = slots[s] }
    return result
  }

  /// A run's slots before anything runs: the plan's constants, those in `replacing` replaced.
  /// - Throws: `ExecutorError.cannotReplace` for a name the plan cannot replace
  ///   (`ExecutionPlan.replaceableConstants`) or a value of another shape or type.
  private func constantSlots(replacing: [String: TensorValue]) throws -> [TensorValue?] {
    var slots = [TensorValue?](repeating: nil, count: plan.slotCount)
    for (s, v) in plan.constants { slots[s] = v }
    for name in replacing.keys.sorted() {
      let v = replacing[name]!
      guard let s = plan.slotNames.slot(of: name), plan.replaceableConstants.contains(s), let old = slots[s] else {
        throw ExecutorError.cannotReplace(name: name, detail: "it is not a constant that only weights read as the model runs")
      }
      guard v.shape == old.shape, v.elementType == old.elementType, (v.floats == nil) == (old.floats == nil) else {
        throw ExecutorError.cannotReplace(name: name, detail: "the value's shape \(v.shape) or type differs from the constant's \(old.shape)")
      }
      slots[s] = v
    }
    return slots
  }

  /// The slots after a run (`prefixOnly`: after the last step producing an observed slot).
  private func execute(
    _ inputs: [String: TensorValue], observing: Set<String>, observer: (String, TensorValue) throws -> Void, prefixOnly: Bool,
    replacing: [String: TensorValue] = [:]
  ) throws -> [TensorValue?] {
    for name in inputs.keys where !plan.inputs.contains(where: { $0.name == name }) {
      throw ExecutorError.unknownInput(name: name)
    }
    let observable = plan.observableSlots
    for name in observing.sorted() where !(plan.slotNames.slot(of: name).map(observable.contains) ?? false) {
      throw ExecutorError.unknownObservedValue(name: name)
    }
    let observedSlots = Set(observing.compactMap { plan.slotNames.slot(of: $0) })

    var slots = try constantSlots(replacing: replacing)
    for (s, _) in plan.constants where observedSlots.contains(s) { try observer(plan.slotNames[s], slots[s]!) }
    for (name, s) in plan.inputs {
      guard var v = inputs[name] else { throw ExecutorError.missingInput(name: name) }
      if v.elementType.isFloatingPoint { v.elementType = .float }
      slots[s] = v
      if observedSlots.contains(s) { try observer(name, v) }
    }

    try runSteps(&slots, observed: observedSlots, observer: observer, prefixOnly: prefixOnly, from: 0, unfused: false)
    return slots
  }

  /// Runs every step in order (`prefixOnly`: up to the last one producing an observed slot;
  /// only those of nodes at graph position `from` or later; `unfused`: the plain steps),
  /// releasing each value after its last reader.
  private func runSteps(
    _ slots: inout [TensorValue?], observed observedSlots: Set<Int>,
    observer: (String, TensorValue) throws -> Void, prefixOnly: Bool, from: Int, unfused: Bool
  ) throws {
    // OpenBLAS runs single-threaded inside our own fixed work split (determinism).
    let previous = openblas_get_num_threads()
    openblas_set_num_threads(1)
    defer { openblas_set_num_threads(previous) }
    let context = RunContext(threads: options.threads, buffers: RunBuffers())
    try Axes.$maxElements.withValue(options.maxElements) {
      // Fused steps compute the same bits; they hide some intermediates, so observing one of those runs the plain steps.
      let all = !unfused && observedSlots.isDisjoint(with: plan.fusedAway) ? plan.fusedSteps : plan.steps
      var end = all.count
      if prefixOnly {
        let last = all.lastIndex { $0.outputs.contains { $0.map(observedSlots.contains) ?? false } }
        end = last.map { $0 + 1 } ?? 0
      }
      let recorder = ScheduleRecorder.current
      // Steps are read in place, not copied: a copy retains and releases each of a step's
      // arrays and its op, and threads running the same plan on other inputs contend on
      // those counts (a chain of small convs spent a tenth of its time there).
      try all.withUnsafeBufferPointer { steps in
        for i in 0..<end where steps[i].position >= from {
          let args = steps[i].inputs.map { $0.flatMap { slots[$0] } }
          let results: [TensorValue]
          do {
            if let recorder {
              results = try recorder.step(steps[i].opType) { try steps[i].op.run(args, context) }
            } else {
              results = try steps[i].op.run(args, context)
            }
          } catch let failure as OpFailure {
            throw failure.error(node: steps[i].nodeName, op: steps[i].opType)
          }
          for (k, s) in steps[i].outputs.enumerated() {
            guard let s else { continue }
            guard k < results.count else {
              throw ExecutorError.runtime(
                node: steps[i].nodeName, op: steps[i].opType, detail: "output \(k) is not produced by this executor")
            }
            slots[s] = results[k]
            if observedSlots.contains(s) { try observer(plan.slotNames[s], results[k]) }
          }
          for s in steps[i].frees {
            let freed = slots[s]
            slots[s] = nil
            // A later output of the same size is written into it (`RunBuffers`).
            if case .floats(let values)? = freed?.storage { context.buffers?.recycle(values) }
          }
        }
      }
    }
  }
}
