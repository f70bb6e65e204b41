import CLAPACK

/// The step list of a plan as it is built, with constant folding done on the way: every step
/// whose inputs are all constants (Constant nodes, shape arithmetic, a kernel rebuilt from stored
/// factors) runs once, as runtimes do at load, and its outputs become constants.
///
/// Which steps fold, and their groups, come from one pass over the wiring before any op is built
/// (`init`): a step folds when every value it reads is a constant or a folded value, and joins
/// the group of every folding step it reads; groups exchange no values (a reconstructed layout
/// has one per site, ~25 steps each). As steps are added, each group runs once its last step is
/// in, in batches of groups side by side on up to `threads` threads, each group in step order,
/// and its steps are then dropped: the list never holds the folded steps of more than a batch
/// (a reconstructed layout's ~25 per site, held to the end, were most of a large plan's peak).
/// Values made in a group go after their last reader, as a run in order would drop them. Each op
/// computes the same bits on any thread and each group writes only its own values, so the plan
/// does not depend on `threads` or on the batches. When steps fail, the one earliest in order is
/// reported, and only once every step is built: a node that cannot be built is reported first.
///
/// Unless `foldsReplicated`, a group that only moves and copies data (`replicatingOps`: a Tile
/// of a small weight, as kron stores its factors) and leaves its readers more elements than it
/// reads from the model's constants is dropped once run; its steps stay in the plan, in order,
/// and copy again with every run. Groups that compute (a kernel rebuilt from factors by a
/// MatMul) still fold: recomputing them costs arithmetic with every run, copying does not.
struct ConstantFolder {
  /// Groups run side by side per batch: enough to keep the threads busy, few enough steps held.
  static let batchGroups = 64

  private let threads: Int
  private let foldsReplicated: Bool
  // Per slot (not dictionaries: a reconstructed layout folds ~25 steps per site).
  private var known: [TensorValue?]
  private var producedByFold: [Bool]
  private var readByKept: [Bool]
  private var lastReader: [Int]  // among folding steps, by position; -1 when none
  private var isOutput: [Bool]
  // Per position (index in build order): the step's group, -1 when it does not fold.
  private let groupAt: [Int32]
  private let groupEnd: [Int]  // per group, the position of its last step
  private var pending: [[(position: Int, step: ExecutionStep)]]
  private var ready: [Int] = []
  private var kept: [(position: Int, step: ExecutionStep)] = []
  private var failure: (position: Int, node: String, op: String, error: any Error)?

  /// Steps that do not fold.
  let keptCount: Int

  /// Plans the folding of `count` steps from their wiring alone.
  /// - Parameters:
  ///   - wiring: the slots each step reads and writes, by position; called once per position, in
  ///     order. A slot read before anything defines it is a constant (a graph input is defined).
  ///   - graphInputs: slots of the graph inputs (never constant).
  ///   - outputs: slots of the graph outputs known so far (their values are kept).
  init(
    count: Int, graphInputs: [Int], threads: Int, foldsReplicated: Bool,
    wiring: (Int) throws -> (inputs: [Int?], outputs: [Int?])
  ) rethrows {
    self.threads = threads
    self.foldsReplicated = foldsReplicated
    var defined: [Bool] = []
    var isConstant: [Bool] = []
    var producer: [Int] = []  // the folding step defining a slot, by index in `foldingAt`
    var readByKept: [Bool] = []
    var lastReader: [Int] = []
    func grow(_ s: Int) {
      guard s >= defined.count else { return }
      let more = s + 1 - defined.count
      defined += repeatElement(false, count: more)
      isConstant += repeatElement(false, count: more)
      producer += repeatElement(-1, count: more)
      readByKept += repeatElement(false, count: more)
      lastReader += repeatElement(-1, count: more)
    }
    for s in graphInputs { grow(s); defined[s] = true }
    var parent: [Int] = []  // union-find over folding steps
    func root(_ i: Int) -> Int {
      var i = i
      while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }
      return i
    }
    var foldingAt: [Int] = []
    for position in 0..<count {
      let (inputs, outputs) = try wiring(position)
      var folds = true
      for case let s? in inputs {
        grow(s)
        if !defined[s] { defined[s] = true; isConstant[s] = true }
        folds = folds && isConstant[s]
      }
      for case let s? in outputs { grow(s); defined[s] = true }
      guard folds else {
        for case let s? in inputs { readByKept[s] = true }
        continue
      }
      let me = foldingAt.count
      foldingAt.append(position)
      parent.append(me)
      for case let s? in inputs {
        lastReader[s] = position
        if producer[s] >= 0 { let (a, b) = (root(producer[s]), root(me)); parent[max(a, b)] = min(a, b) }
      }
      for case let s? in outputs { isConstant[s] = true; producer[s] = me }
    }
    // Groups numbered by their first step.
    var groupOfRoot = [Int](repeating: -1, count: foldingAt.count)
    var groupAt = [Int32](repeating: -1, count: count)
    var groupEnd: [Int] = []
    for (i, position) in foldingAt.enumerated() {
      let r = root(i)
      if groupOfRoot[r] < 0 { groupOfRoot[r] = groupEnd.count; groupEnd.append(position) }
      groupAt[position] = Int32(groupOfRoot[r])
      groupEnd[groupOfRoot[r]] = position
    }
    self.groupAt = groupAt
    self.groupEnd = groupEnd
    self.pending = Array(repeating: [], count: groupEnd.count)
    self.known = Array(repeating: nil, count: defined.count)
    self.producedByFold = producer.map { $0 >= 0 }
    self.readByKept = readByKept
    self.lastReader = lastReader
    self.isOutput = Array(repeating: false, count: defined.count)
    self.keptCount = count - foldingAt.count
    kept.reserveCapacity(keptCount)
  }

  /// Marks `slot` as a graph output: its value is kept.
  mutating func markOutput(_ slot: Int) {
    if slot < isOutput.count { isOutput[slot] = true }
  }

  /// Records a constant's value (decoded from the model).
  mutating func setConstant(_ slot: Int, _ value: TensorValue) {
    if slot >= known.count { known += repeatElement(nil, count: slot + 1 - known.count) }
    known[slot] = value
  }

  /// Adds the step at `position` (positions come in order): kept, or held until its group is
  /// complete and then run.
  mutating func add(_ step: ExecutionStep, at position: Int) {
    let g = Int(groupAt[position])
    guard g >= 0 else {
      kept.append((position, step))
      return
    }
    pending[g].append((position, step))
    if position == groupEnd[g] {
      ready.append(g)
      if ready.count >= Self.batchGroups { runReady() }
    }
  }

  /// Runs the groups still waiting and returns the plan's steps in order with the constants
  /// they or the graph outputs (`outputs`) read, by slot.
  /// - Throws: the failure of the folding step earliest in order.
  mutating func finish(outputs: [Int]) throws -> (steps: [ExecutionStep], constants: [(Int, TensorValue)]) {
    runReady()
    if let f = failure {
      if let e = f.error as? OpFailure { throw e.error(node: f.node, op: f.op, prefix: "constant inputs: ") }
      throw f.error
    }
    if kept.indices.dropFirst().contains(where: { kept[$0 - 1].position > kept[$0].position }) {
      kept.sort { $0.position < $1.position }  // unfolded groups' steps, back in order
    }
    let steps = kept.map(\.step)
    kept = []
    var read = isOutput + repeatElement(false, count: max(0, known.count - isOutput.count))
    for s in outputs where s < read.count { read[s] = true }
    for step in steps { for case let s? in step.inputs where s < read.count { read[s] = true } }
    var constants: [(Int, TensorValue)] = []
    for s in known.indices where read[s] { if let v = known[s] { constants.append((s, v)) } }
    return (steps, constants)
  }

  /// `v` with its elements in a buffer allocated by the calling thread.
  private static func copied(_ v: TensorValue) -> TensorValue {
    var c = v
    switch v.storage {
    case .floats(let x): c.storage = .floats(x.withUnsafeBufferPointer { Array($0) })
    case .integers(let x): c.storage = .integers(x.withUnsafeBufferPointer { Array($0) })
    case .bools(let x): c.storage = .bools(x.withUnsafeBufferPointer { Array($0) })
    }
    return c
  }

  /// Runs the complete groups in `ready`, side by side in pieces of 8, and drops their steps
  /// (keeping those of groups that only replicate, unless `foldsReplicated`).
  private mutating func runReady() {
    guard !ready.isEmpty else { return }
    let batch = ready.map { pending[$0] }
    for g in ready { pending[g] = [] }
    ready = []
    let (producedByFold, readByKept, lastReader, isOutput) = (self.producedByFold, self.readByKept, self.lastReader, self.isOutput)
    /// Whether a group (just run) only replicates: data movement alone, leaving its readers more
    /// elements than it reads from the model's constants.
    func replicates(_ group: [(position: Int, step: ExecutionStep)], _ values: UnsafeMutableBufferPointer<TensorValue?>) -> Bool {
      guard group.allSatisfy({ ExecutionPlan.replicatingOps.contains($0.step.opType) }) else { return false }
      var read = Set<Int>(), made = 0, source = 0
      for (_, step) in group {
        for case let s? in step.inputs where !producedByFold[s] && read.insert(s).inserted { source += values[s]?.count ?? 0 }
        for case let s? in step.outputs where readByKept[s] || isOutput[s] { made += values[s]?.count ?? 0 }
      }
      return made > source
    }
    var failures = [(position: Int, error: any Error)?](repeating: nil, count: batch.count)
    var unfolded = [Bool](repeating: false, count: batch.count)
    let context = RunContext(threads: 1)
    let limit = Axes.maxElements  // task-local: the pool's threads are not tasks
    let previous = openblas_get_num_threads()
    openblas_set_num_threads(1)  // the same bits as a run
    defer { openblas_set_num_threads(previous) }
    let piece = 8
    let foldsReplicated = self.foldsReplicated
    known.withUnsafeMutableBufferPointer { values in
      failures.withUnsafeMutableBufferPointer { failed in
        unfolded.withUnsafeMutableBufferPointer { dropped in
          parallelFor((batch.count + piece - 1) / piece, threads: threads) { c in
            Axes.$maxElements.withValue(limit) {
              for g in (c * piece)..<min(batch.count, (c + 1) * piece) {
                for (position, step) in batch[g] {
                  do {
                    let results = try step.op.run(step.inputs.map { $0.flatMap { values[$0] } }, context)
                    for (i, s) in step.outputs.enumerated() {
                      guard let s else { continue }
                      guard i < results.count else {
                        throw ExecutorError.invalidNode(node: step.nodeName, op: step.opType, detail: "output \(i) is not produced")
                      }
                      values[s] = results[i]
                    }
                  } catch {
                    failed[g] = (position, error)
                    break
                  }
                  // Values made in this group go after their last reader (all in this group); the
                  // values a kernel is rebuilt through would otherwise live until folding ends.
                  for case let s? in step.inputs
                  where producedByFold[s] && lastReader[s] == position && !readByKept[s] && !isOutput[s] {
                    values[s] = nil
                  }
                }
                if !foldsReplicated && failed[g] == nil && replicates(batch[g], values) {
                  dropped[g] = true
                  for (_, step) in batch[g] { for case let s? in step.outputs { values[s] = nil } }
                }
              }
            }
          }
        }
      }
    }
    for (g, group) in batch.enumerated() {
      // The values this group leaves to the plan were made on a fold thread's heap, between the
      // intermediates it freed: copied onto this thread's, the fold heaps keep nothing that
      // lives on, and their pages go back (two fold threads held ≈ 20 MB more at 8,000 convs).
      if failures[g] == nil && !unfolded[g] {
        for (_, step) in group {
          for case let s? in step.outputs where readByKept[s] || isOutput[s] {
            if let v = known[s] { known[s] = Self.copied(v) }
          }
        }
      }
      if let f = failures[g], failure.map({ f.position < $0.position }) ?? true {
        let step = group.first { $0.position == f.position }!.step
        failure = (f.position, step.nodeName, step.opType, f.error)
      }
      if unfolded[g] { kept += group }
    }
  }
}
