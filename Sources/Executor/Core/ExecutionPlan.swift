import CLAPACK
import ONNX

/// A model compiled once for repeated runs: nodes in topological order with their ops built,
/// constants decoded, each value in a numbered slot, and the step after which each slot dies.
///
/// Building checks everything that can be checked without data: every op, attribute value and
/// the opset are supported, every value read is defined. Nothing is computed until `run`.
public struct ExecutionPlan: Sendable {
  /// The default-domain opsets the ops were written against. Old op versions whose semantics
  /// differ carry attributes (`consumed_inputs`, `broadcast`, `is_test`, ...) that the ops do not
  /// read, so such nodes are rejected by the unread-attribute check rather than misread.
  public static let supportedOpsets: ClosedRange<Int> = 1...21

  let steps: [ExecutionStep]
  /// `steps` with elementwise chains folded into their Convs (`ConvFusion`), run unless an
  /// observed value is one of `fusedAway`.
  let fusedSteps: [ExecutionStep]
  let fusedAway: Set<Int>
  let slotCount: Int
  let slotNames: SlotNames
  let constants: [(slot: Int, value: TensorValue)]
  /// Constants a run may replace (`Executor.run(_:replacing:)`): initializers and outputs of
  /// Constant nodes whose every reader is a Conv, Gemm or MatMul step reading it as its weight
  /// (input 1) as it runs. No step is built from their values (a fused Conv reads only its
  /// weight's shape) and no folded node read them, so a run with other values of the same shape
  /// computes what a plan compiled with them would.
  let replaceableConstants: Set<Int>
  /// Op types whose input 1 a run may replace (`replaceableConstants`).
  static let replaceableReaders: Set<String> = ["Conv", "Gemm", "MatMul"]
  /// Graph inputs in order, with their slots.
  let inputs: [(name: String, slot: Int)]
  /// Graph outputs in order, with their slots.
  let outputs: [(name: String, slot: Int)]
  /// Decoded copies of at least this many bytes (counted as 8 per element, the widest storage)
  /// leave the graph with the nodes that read them. Smaller ones (shapes, indices, a shuffle's
  /// integers: a reconstructed layout has a dozen per site) stay: dropping them frees next to
  /// nothing, costs a graph edit each, and copies the graph's bookkeeping when the caller still
  /// holds the model (the output check does).
  static let dropCopiesFrom = 4096

  /// The names of the graph inputs a run needs, in graph order.
  public var inputNames: [String] { inputs.map(\.name) }
  /// The names of the graph outputs a run returns, in graph order.
  public var outputNames: [String] { outputs.map(\.name) }
  /// Op types in execution order (one per node left after constant folding).
  public var opTypes: [String] { steps.map(\.opType) }
  /// Names a run can hand to an observer: graph inputs, constants still used, node outputs.
  /// Built once: callers ask `canObserve` per node, so building it per call was quadratic.
  let observableSlots: Set<Int>

  /// Whether a run can replace the initializer `name` (`Executor.run(_:replacing:)`).
  public func canReplace(_ name: String) -> Bool {
    slotNames.slot(of: name).map(replaceableConstants.contains) ?? false
  }

  /// Whether a run can hand `name` to an observer (`Executor.run(_:observing:observer:)`).
  public func canObserve(_ name: String) -> Bool {
    slotNames.slot(of: name).map(observableSlots.contains) ?? false
  }

  /// The values read as input `index` by the nodes of type `opType`, in execution order and
  /// without repeats (e.g. every Conv's input, to observe for calibration statistics).
  public func valuesRead(byOpType opType: String, input index: Int = 0) -> [String] {
    var seen = Set<String>()
    return steps.filter { $0.opType == opType && index < $0.inputs.count }.compactMap { step in
      step.inputs[index].map { slotNames[$0] }
    }.filter { seen.insert($0).inserted }
  }

  /// Per step, in execution order: the op type and the names of the values it produces.
  public var stepOutputs: [(opType: String, values: [String])] {
    steps.map { step in (step.opType, step.outputs.compactMap { $0.map { slotNames[$0] } }) }
  }

  /// Compiles `model`.
  ///
  /// FLOAT initializers are not copied: their constants are the graph's own values
  /// (`ConstantValue.sharesGraphStorage`), so a plan and the model it was compiled from hold
  /// each weight once between them. Other initializers (FLOAT16, integers, typed fields) are
  /// decoded into copies; for those the model is consumed: as each node reading one is built
  /// the node leaves the graph, and the initializers no remaining node reads leave with it
  /// (`Graph.removeUnused`), so their protobuf bytes are freed right after they are decoded —
  /// when the caller hands over its last copy (`Executor(model: consume m)`). A caller that
  /// keeps its own copy is unaffected (copy-on-write).
  /// - Parameters:
  ///   - model: the model; only its main graph is used.
  ///   - foldThreads: threads for folding constants (the plan is the same for any count).
  /// - Throws: `ExecutorError` naming the first node, op and what it lacks; `ONNXError` when
  ///   a constant's stored data is malformed.
  /// - Complexity: O(nodes + edges + constant bytes), plus, per node reading an initializer,
  ///   O(graph inputs + value_info) when an initializer leaves (`Graph.removeUnused`).
  public init(model: consuming Model, foldThreads: Int = 1, foldsReplicated: Bool = true) throws {
    let opset = model.opsetVersion("") ?? 1
    var graph = (consume model).graph
    guard Self.supportedOpsets.contains(opset) else {
      throw ExecutorError.unsupportedOpset(version: opset, supported: Self.supportedOpsets)
    }
    var slotNames = SlotNames.List()
    // Usually one value per node (an output) and per initializer or input; a node with more
    // outputs grows the table (a rewritten model has ~10⁵ nodes: a guess of two per node was
    // the plan's largest table, mostly empty).
    slotNames.reserveCapacity(graph.nodeCount + graph.initializerCount + graph.inputNames.count)
    // Slots by the graph's name numbers (`Graph.number(of:)`): the wiring is read as numbers,
    // no name hashed (a table keyed by name was the build's largest, ≈ 50 bytes per value).
    var slotOfNumber = [Int32](repeating: -1, count: graph.nameCount)
    var slotOfUnnumbered: [String: Int] = [:]  // a graph input or output the graph never numbered ("")
    // Per slot: whether a graph input, constant or earlier node defines it.
    var defined: [Bool] = []
    func newSlot(_ name: String) -> Int {
      slotNames.append(name)
      defined.append(false)
      return slotNames.count - 1
    }
    func slot(numbered n: Int32) -> Int {
      let s = slotOfNumber[Int(n)]
      if s >= 0 { return Int(s) }
      let made = newSlot(graph.name(numbered: Int(n)))
      slotOfNumber[Int(n)] = Int32(made)
      return made
    }
    func slot(_ name: String) -> Int {
      if let n = graph.number(of: name) { return slot(numbered: Int32(n)) }
      if let s = slotOfUnnumbered[name] { return s }
      let made = newSlot(name)
      slotOfUnnumbered[name] = made
      return made
    }
    /// Slots of numbered values, nil for an omitted one.
    func slots(_ numbers: ArraySlice<Int32>) -> [Int?] { numbers.map { $0 < 0 ? nil : slot(numbered: $0) } }

    var inputs: [(String, Int)] = []
    for name in graph.inputNames {
      let s = slot(name)
      inputs.append((name, s))
      defined[s] = true
    }

    // Nodes are decoded one at a time as their steps are built: an array of them all (a Conv's
    // attributes decoded are a few hundred bytes) was held through the whole build.
    let ids = graph.nodeIDs
    let order = try Self.topologicalOrder(ids, available: Set(graph.inputNames), graph: graph)

    // Which steps fold is known from the wiring; the slots are numbered here, in the order the
    // loop below reads them.
    var folder = ConstantFolder(
      count: order.count, graphInputs: inputs.map(\.1), threads: foldThreads, foldsReplicated: foldsReplicated
    ) { k in
      let (reads, writes) = graph.numberedWiring(ids[order[k]])
      return (slots(reads), slots(writes))
    }
    for name in graph.outputNames {
      if let n = graph.number(of: name), slotOfNumber[n] >= 0 { folder.markOutput(Int(slotOfNumber[n])) }
    }
    // Large initializers decoded into a copy; FLOAT ones share the graph's storage and cost
    // nothing more.
    var copied = Set<String>()
    // Reads of each initializer or Constant node output by any node, folded or not
    // (`replaceableConstants`).
    var sourceReads: [Int: Int] = [:]
    for (k, position) in order.enumerated() {
      let node = graph.node(ids[position])
      var readsCopy = false
      // The builder holds a copy of the graph: it is gone before the graph is edited below.
      try {
        let builder = OpBuilder(node: node, id: ids[position], graph: graph, opset: opset)
        guard node.isDefaultDomain else {
          throw ExecutorError.unsupportedOp(node: builder.name, op: node.opType, domain: node.domain)
        }
        guard let make = OpRegistry.builders[node.opType] else {
          throw ExecutorError.unsupportedOp(node: builder.name, op: node.opType, domain: node.domain)
        }
        var inputSlots: [Int?] = []
        let (reads, writes) = graph.numberedWiring(ids[position])
        for (name, number) in zip(node.inputs, reads) {
          if number < 0 { inputSlots.append(nil); continue }
          let s = slot(numbered: number)
          if !defined[s] {
            guard let c = try graph.constant(name), graph.producer(of: name) == nil else {
              throw ExecutorError.undefinedValue(node: builder.name, value: name)
            }
            let value = TensorValue(try c.data())
            folder.setConstant(s, value)
            defined[s] = true
            if graph.isInitializer(name) && !c.sharesGraphStorage && value.count * 8 >= Self.dropCopiesFrom { copied.insert(name) }
            if graph.isInitializer(name) { sourceReads[s] = 0 }
          }
          if let n = sourceReads[s] { sourceReads[s] = n + 1 }
          readsCopy = readsCopy || copied.contains(name)
          inputSlots.append(s)
        }
        let op = try make(builder)
        if let extra = builder.unreadAttributes.first {
          throw builder.unsupported("attribute '\(extra)'")
        }
        let outputSlots = slots(writes)
        for case let s? in outputSlots { defined[s] = true }
        if node.opType == "Constant" && node.isDefaultDomain, case let s?? = outputSlots.first { sourceReads[s] = 0 }
        folder.add(
          ExecutionStep(
            nodeName: builder.name, position: position, opType: node.opType, op: op, inputs: inputSlots, outputs: outputSlots, frees: []),
          at: k)
      }()
      // Weights are decoded: drop the node, then the initializers only it still read. Not for
      // shared ones: dropping frees none of their bytes, and editing a graph the caller also
      // holds would copy its bookkeeping.
      if readsCopy {
        graph.remove(ids[position])
        graph.removeUnused(Set(node.inputs))
      }
    }

    var outputs: [(String, Int)] = []
    for name in graph.outputNames {
      let s = slot(name)
      if !defined[s] {
        guard let c = try graph.constant(name) else { throw ExecutorError.undefinedOutput(value: name) }
        folder.setConstant(s, TensorValue(try c.data()))
        defined[s] = true
      }
      outputs.append((name, s))
    }

    var (steps, constants) = try folder.finish(outputs: outputs.map(\.1))

    self.replaceableConstants = Self.replaceable(sourceReads, steps: steps, outputs: Set(outputs.map(\.1)))
    let keep = Set(outputs.map(\.1)).union(constants.map(\.0))
    let known = Dictionary(constants, uniquingKeysWith: { a, _ in a })
    var (fused, hidden) = ConvFusion.fuse(steps, constants: known, keep: keep)
    Self.setFrees(&steps, slotCount: slotNames.count, inputs: inputs.map(\.1), keep: keep)
    Self.setFrees(&fused, slotCount: slotNames.count, inputs: inputs.map(\.1), keep: keep)
    self.fusedSteps = fused
    self.fusedAway = hidden
    self.steps = steps
    self.slotCount = slotNames.count
    self.slotNames = SlotNames(slotNames)
    self.constants = constants
    self.inputs = inputs
    self.outputs = outputs
    var observable = Set(inputs.map(\.1)).union(constants.map(\.0))
    for step in steps { for s in step.outputs.compactMap({ $0 }) { observable.insert(s) } }
    self.observableSlots = observable
  }

  /// The constants of `reads` (every node's reads of each, folded ones included) that only
  /// weight inputs of `replaceableReaders` steps read, and that are not graph outputs.
  private static func replaceable(_ reads: [Int: Int], steps: [ExecutionStep], outputs: Set<Int>) -> Set<Int> {
    var asWeight: [Int: Int] = [:]
    var otherwise = Set<Int>()
    for step in steps {
      for (i, s) in step.inputs.enumerated() {
        guard let s, reads[s] != nil else { continue }
        if i == 1 && replaceableReaders.contains(step.opType) { asWeight[s, default: 0] += 1 } else { otherwise.insert(s) }
      }
    }
    return Set(asWeight.filter { s, n in reads[s] == n && !otherwise.contains(s) && !outputs.contains(s) }.keys)
  }

  /// Liveness: a slot dies after its last reader, or right after its producer when nothing
  /// reads it. Graph outputs and constants (`keep`) live for the whole run. In place, with
  /// per-slot arrays: a large plan is not held twice while it is annotated.
  private static func setFrees(_ steps: inout [ExecutionStep], slotCount: Int, inputs: [Int], keep: Set<Int>) {
    let unseen = -2
    var lastUse = [Int](repeating: unseen, count: slotCount)
    for (i, step) in steps.enumerated() {
      for case let s? in step.outputs where lastUse[s] == unseen { lastUse[s] = i }
      for case let s? in step.inputs { lastUse[s] = i }
    }
    for s in inputs where lastUse[s] == unseen { lastUse[s] = -1 }
    var freesAt = [[Int]](repeating: [], count: steps.count)
    for s in 0..<slotCount where lastUse[s] >= 0 && !keep.contains(s) { freesAt[lastUse[s]].append(s) }  // ascending
    for i in steps.indices { steps[i].frees = freesAt[i] }
  }

  /// Ops that only move, copy or reshape data: a constant made by them alone from smaller
  /// constants is a replication, cheap to make again in each run.
  static let replicatingOps: Set<String> = [
    "Tile", "Expand", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Flatten", "Concat", "Gather", "Slice",
  ]

  /// Node positions in an order where every value is produced before it is read; file order
  /// when the file is already sorted (the usual case).
  private static func topologicalOrder(_ ids: [NodeID], available: Set<String>, graph: Graph) throws -> [Int] {
    // A graph that claims its order keeps it through every edit (checked after each edit in
    // tests); were it wrong, the first read of an undefined value would throw, not misrun.
    if graph.claimsTopologicalOrder { return Array(ids.indices) }
    let nodes = ids.map(graph.node)
    var producer = [String: Int](minimumCapacity: nodes.count)
    for (i, n) in nodes.enumerated() { for o in n.outputs where !o.isEmpty { producer[o] = i } }
    var order: [Int] = []
    var state = [UInt8](repeating: 0, count: nodes.count)  // 0 new, 1 in progress, 2 done
    func visit(_ i: Int) throws {
      if state[i] == 2 { return }
      if state[i] == 1 {
        let n = nodes[i]
        throw ExecutorError.cycle(node: n.name.isEmpty ? (n.outputs.first ?? "?") : n.name)
      }
      state[i] = 1
      for x in nodes[i].inputs where !x.isEmpty && !available.contains(x) {
        if let p = producer[x], p != i { try visit(p) }
      }
      state[i] = 2
      order.append(i)
    }
    for i in nodes.indices { try visit(i) }
    return order
  }
}

extension ExecutionPlan {
  /// The default-domain op types the executor implements, sorted.
  public static var supportedOpTypes: [String] { OpRegistry.opTypes }
}
