import Executor
import ONNX
import TensorAlgebra

/// The original model's outputs on the check inputs, and the error of any candidate against them.
struct OutputBench {
  let inputs: [[String: TensorValue]]
  /// How the inputs were made, for the report.
  let inputsDescription: String
  private let references: [[String: TensorValue]]
  private let executorOptions: ExecutorOptions
  /// The largest data-shaped tensor the check's runs may build (2²⁸ elements, 1 GiB of Float):
  /// the check runs every model it is given, and a crafted Tile or Resize must end in
  /// "unavailable", not in gigabytes allocated. `onnx-rstd run` keeps the executor's 2³².
  static let maxElements = 1 << 28
  /// The executor settings of every run the check makes.
  static func executorOptions(_ check: OutputCheck) -> ExecutorOptions {
    // Replicated constants are not folded: a few runs copy them again cheaply, and the plan of a
    // kron rewrite would otherwise hold every tiled factor (4x its stored size at rank 4).
    ExecutorOptions(threads: check.threads, maxElements: maxElements, foldsReplicatedConstants: false)
  }

  /// Model runs so far (the original's included).
  private(set) var runs = 0
  /// Those of `runs` that started from a cut (`held`).
  private(set) var prefixRuns = 0
  /// Response statistics of the watched Conv outputs, from the original's runs.
  let statistics: ResponseStatistics
  /// Cuts before the watched sites (or the back-off's groups: `holdCuts`), where probes start
  /// from the original's values (`held`).
  private var cuts: PrefixCuts?
  /// By input index, per probe input (`probeSubset(probeInputs)`, while they fit
  /// `heldPrefixBytes`): the original's values at every cut's frontier, from its runs in `init`.
  private var held: [Int: [String: TensorValue]]
  /// The original compiled, kept with the held cuts for probes that run a stretch of their own
  /// and resume the original after it (`difference(ofStretch:_:inputs:)`).
  private var resumable: Executor?
  /// Whether a subset of the inputs is spread over them (calibration data, which a user may
  /// group by kind: photos, then pages) rather than their first ones (synthetic, all alike).
  private let spreadsSubsets: Bool
  /// Bytes of intermediate values held for probes (PP-OCR det at 736 px: ~80 MB per input).
  static let heldPrefixBytes = 384 << 20
  /// Values in the largest value held (per input) up to which a probe runs its inputs side by side.
  static let sideBySideValues = 1 << 16
  /// Bytes held for the back-off's probes (`holdCuts`): less than for response fits, whose
  /// statistics already need the original's runs, as a default run holds them only to be faster.
  static let backOffHeldBytes = 128 << 20

  /// Runs `original` on the check's inputs (given, or synthetic from the declared shapes).
  /// - Throws: `RewriteError.modelDoesNotRun` when a node meets a shape or type the spec forbids
  ///   on inputs whose sizes are all fixed (calibration data, declared or given shapes), or whose
  ///   only guessed size is the batch and the same node fails at a batch of 2 too; otherwise
  ///   `OutputCheckUnavailable` when the model cannot be compiled or run on them.
  /// - Parameters:
  ///   - watching: Conv outputs (with their channel counts) whose statistics to collect.
  ///   - compiled: `original` already compiled with `executorOptions(check)`, if it was.
  ///   - patches: Conv sites (by output name) whose input-patch statistics to collect.
  init(
    original: Model, check: OutputCheck, seed: UInt64, watching: [String: Int] = [:], patches: [String: PatchSpec] = [:],
    compiled: Executor? = nil
  ) throws {
    executorOptions = OutputBench.executorOptions(check)
    let executor: Executor
    do { executor = try compiled ?? Executor(model: original, options: executorOptions) } catch {
      // Folding a node of constants failed on a shape or type the spec forbids: whatever the inputs.
      if case ExecutorError.runtime = error { throw RewriteError.modelDoesNotRun(inputs: "any input", why: "\(error)") }
      throw OutputCheckUnavailable("the executor cannot run this model: \(error)")
    }
    // Inputs whose every size the file or the user fixed: a run that fails on a spec violation
    // is then the model's fault, not a guess's (`SyntheticInputs.shapes`).
    let fixed: String?
    // When only the batch was guessed (1): the shapes at batch 2, to tell a model that fails at
    // any batch from one that fails at a batch of 1 (the input is made only if a run fails).
    var otherBatch: (shapes: [(String, [Int])], described: String)?
    if let given = check.inputs {
      guard !given.isEmpty else { throw OutputCheckUnavailable("no calibration inputs") }
      inputs = given
      inputsDescription = "calibration: \(given.count) sample(s)" + (check.inputsSource.map { " from \($0)" } ?? "")
      fixed = "the calibration inputs"
    } else {
      let names = executor.plan.inputNames
      let (shapes, guessed) = try SyntheticInputs.shapes(names: names, declared: original.graph.inputs, overrides: check.inputShapes)
      let made = SyntheticInputs.make(count: max(1, check.samples), shapes: shapes, seed: seed)
      inputs = made
      func list(_ shapes: [(String, [Int])]) -> String {
        shapes.map { "\($0.0)=\($0.1.map(String.init).joined(separator: "x"))" }.joined(separator: ", ")
      }
      let shapeList = list(shapes)
      inputsDescription = "synthetic: \(made.count) × normal(0, 1), \(shapeList)"
      let whose = check.inputShapes.isEmpty ? "it declares" : "given"
      fixed = guessed.isEmpty ? "inputs of the shapes \(whose) (\(shapeList))" : nil
      if !guessed.isEmpty && guessed.allSatisfy({ $0.axis == 0 }) {
        let batched = Set(guessed.map(\.input))
        let two = shapes.map { name, shape in (name, batched.contains(name) ? [2] + shape.dropFirst() : shape) }
        if two.allSatisfy({ $0.1.reduce(1, *) <= SyntheticInputs.maxElements }) {
          otherBatch = (two, "inputs of batch 1 and 2 (\(shapeList); \(list(two)))")
        }
      }
    }
    var references: [[String: TensorValue]] = []
    let described = inputsDescription
    var statistics = ResponseStatistics(
      watching: watching.filter { executor.plan.canObserve($0.key) }, patches: patches.filter { executor.plan.canObserve($0.value.input) })
    let watched = statistics.observed
    let cuts = PrefixCuts(original: original.graph, sites: Set(watching.keys).union(patches.keys))
    let frontier = (cuts?.frontierUnion ?? []).filter { executor.plan.canObserve($0) }
    var held: [Int: [String: TensorValue]] = [:]
    var heldBytes = 0
    spreadsSubsets = check.inputs != nil
    // The inputs the probes run, known once the first input's outputs are (the first is one).
    var probeSet: Set<Int> = [0]
    var holdingOpen = !frontier.isEmpty
    for (s, x) in inputs.enumerated() {
      // Probe inputs are held until one whose values do not all fit, which is not.
      let holding = holdingOpen && probeSet.contains(s)
      var values: [String: TensorValue] = [:]
      do {
        references.append(try executor.run(x, observing: holding ? watched.union(frontier) : watched) { name, value in
          if watched.contains(name) { statistics.add(name, value) }
          if holding && frontier.contains(name) {
            values[name] = value
            heldBytes += value.count * 4
          }
        })
      } catch {
        if case ExecutorError.runtime(let node, _, _) = error {
          if let fixed { throw RewriteError.modelDoesNotRun(inputs: fixed, why: "\(error)") }
          // The same node failing at a batch of 2 too: the model's fault, not the guess's.
          if s == 0, let other = otherBatch {
            do {
              _ = try executor.run(SyntheticInputs.make(count: 1, shapes: other.shapes, seed: seed)[0])
            } catch ExecutorError.runtime(node, _, _) {
              throw RewriteError.modelDoesNotRun(inputs: other.described, why: "\(error)")
            } catch {}
          }
        }
        throw OutputCheckUnavailable("the model does not run on the check inputs (\(described)): \(error)")
      }
      if holding {
        if heldBytes <= Self.heldPrefixBytes { held[s] = values } else { holdingOpen = false }
      }
      if s == 0 {
        let probes = Self.probeInputs(check.probeSamples, outputValues: Self.valueCount(references[0]), inputs: inputs.count)
        probeSet = Set(Self.subset(probes, of: inputs.count, spread: spreadsSubsets))
      }
    }
    // Outputs that are not finite cannot be compared (inputs beyond the model's range, e.g.
    // overflowing activations): the check cannot measure anything on them.
    for (n, y) in references.enumerated() {
      for name in y.keys.sorted() {
        guard let f = y[name]?.floats, f.contains(where: { !$0.isFinite }) else { continue }
        throw OutputCheckUnavailable("the original model's output '\(name)' is NaN or infinite on check input \(n + 1) (\(described))")
      }
    }
    self.references = references
    self.statistics = statistics
    self.cuts = held.isEmpty ? nil : cuts
    self.held = held
    // Shared with the caller's plan when it passed one (response fits keep it for the refits).
    self.resumable = held.isEmpty ? nil : executor
    runs = inputs.count
  }

  /// The outputs' difference between `candidate` and the original. A candidate that fails to
  /// compile or run has infinite error: it is never accepted.
  ///
  /// On the inputs whose original values are held (`held`), a candidate that keeps the original's
  /// nodes before a cut runs from there (`PrefixCuts`): the same outputs, bit for bit, without
  /// recomputing the unchanged prefix. Each such run counts as a run.
  mutating func difference(of candidate: Model, inputs limit: Int = .max) -> OutputDifference? {
    let chosen = Self.subset(limit, of: inputs.count, spread: spreadsSubsets)
    var partial: (executor: Executor, cut: PrefixCuts.Cut)?
    if !chosen.isEmpty, !held.isEmpty, let cuts, let cut = cuts.latestCut(for: candidate.graph),
      let model = cuts.truncated(candidate, at: cut), let executor = try? Executor(model: model, options: executorOptions)
    {
      partial = (executor, cut)
    }
    // Without a partial run, the candidate compiles first (nil when it cannot, inputs or not).
    let unheld = chosen.contains { held[$0] == nil }
    var full = partial == nil || unheld ? try? Executor(model: candidate, options: executorOptions) : nil
    if full == nil && (partial == nil || unheld) { return nil }
    var d = OutputDifference()
    for s in chosen {
      runs += 1
      let z: [String: TensorValue]?
      if let partial, let h = held[s], let values = Self.values(partial.cut.frontier, from: h) {
        prefixRuns += 1
        z = try? partial.executor.run(values.merging(inputs[s]) { a, _ in a })
      } else {
        if full == nil { full = try? Executor(model: candidate, options: executorOptions) }
        guard let full else { return nil }  // a held input lacking a value: compiled here
        z = try? full.run(inputs[s])
      }
      guard let z else { return nil }
      d.add(reference: references[s], candidate: z)
    }
    return d
  }

  /// The outputs' difference of `executor` (a model compiled with `options`) on every input,
  /// its weights in `replacing` replaced (`Executor.run(_:replacing:)`), the inputs side by side
  /// when activations are small (`sideBySideWorkers`); nil when a run fails. Each input counts
  /// as a run.
  mutating func difference(running executor: Executor, replacing: [String: TensorValue]) -> OutputDifference? {
    let checkInputs = inputs
    let outputs = try? parallelMap(Array(inputs.indices), workers: sideBySideWorkers) { s in
      try? executor.run(checkInputs[s], replacing: replacing)
    }
    runs += inputs.count
    guard let outputs, outputs.allSatisfy({ $0 != nil }) else { return nil }
    var d = OutputDifference()
    for (s, z) in outputs.enumerated() { d.add(reference: references[s], candidate: z!) }
    return d
  }

  /// Per probe, the outputs' difference of `executor` (the original compiled with `options`)
  /// run with the probe's `replacing` in place of weights that only nodes making its `after`
  /// values read: on each of the first `limit` probe inputs it resumes at the held cut before
  /// the earliest of them (`Executor.resume(at:values:replacing:)`), the same bits as the whole
  /// model with those weights. Probes run side by side when activations are small
  /// (`sideBySideWorkers`). Nil for a probe whose cut or inputs `holdCuts` did not hold, or
  /// whose run fails. Each run counts.
  mutating func differences(
    resuming executor: Executor, probes: [(replacing: [String: TensorValue], after: Set<String>)], inputs limit: Int
  ) -> [OutputDifference?] {
    let chosen = Self.subset(limit, of: inputs.count, spread: spreadsSubsets)
    guard let cuts, !chosen.isEmpty else { return probes.map { _ in nil } }
    // Per probe, its cut's values on each chosen input, or nil when not held.
    let starts = probes.map { probe -> (position: Int, values: [[String: TensorValue]])? in
      let positions = probe.after.compactMap { cuts.position(of: $0) }
      guard positions.count == probe.after.count, let first = positions.min(),
        let cut = cuts.cuts.first(where: { $0.position == first })
      else { return nil }
      var given: [[String: TensorValue]] = []
      for s in chosen {
        guard let h = held[s], let values = Self.values(cut.frontier, from: h) else { return nil }
        given.append(values.merging(inputs[s]) { a, _ in a })
      }
      return (cut.position, given)
    }
    let outputs = (try? parallelMap(Array(probes.indices), workers: sideBySideWorkers) { p -> [[String: TensorValue]]? in
      guard let start = starts[p] else { return nil }
      var zs: [[String: TensorValue]] = []
      for x in start.values {
        guard let z = try? executor.resume(at: start.position, values: x, replacing: probes[p].replacing) else { return nil }
        zs.append(z)
      }
      return zs
    }) ?? probes.map { _ in nil }
    return outputs.map { zs in
      guard let zs else { return nil }
      runs += zs.count
      prefixRuns += zs.count
      var d = OutputDifference()
      for (s, z) in zip(chosen, zs) { d.add(reference: references[s], candidate: z) }
      return d
    }
  }

  /// Threads for runs side by side: the executor's when the values held at cuts are small (a
  /// chain of 16-channel 8×8 convs, whose steps are too small for the executor to split), else 1
  /// (large activations are split by the executor; side by side they would only be held twice:
  /// PP-OCR det +50 MB, no faster). The same bits either way.
  private var sideBySideWorkers: Int {
    let largest = held.values.lazy.flatMap { $0.values.lazy.map(\.count) }.max()
    return largest.map { $0 <= Self.sideBySideValues } == true ? executorOptions.threads : 1
  }

  /// The original's plan the probes resume (`holdCuts`), while they run.
  var originalPlan: Executor? { resumable }

  /// The difference of a candidate that is the original model (every site kept, weights stored
  /// as they were): its outputs are the references, so nothing is compiled or run; every output
  /// is listed with error 0.
  var unchanged: OutputDifference {
    var d = OutputDifference()
    for r in references { d.add(reference: r, candidate: r) }
    return d
  }

  /// Whether the bench holds the original's values at cuts (probes may start there).
  var holdsCuts: Bool { cuts != nil }

  /// Holds the original's values at a cut before the earliest of each group of values in
  /// `groups` (the sites a back-off probe changes together), on the first `k` probe inputs
  /// (`subset`) in order while they fit in `bytes`, from runs of `original` as far as the last
  /// cut (`Executor.observe`, each counted as a run). A probe changing only one group's sites
  /// and later ones then runs from its cut. Nothing changes when the bench already holds cuts
  /// (response fits) or `original` cannot be cut, compiled or run.
  mutating func holdCuts(original: Model, groups: [Set<String>], probeInputs k: Int, bytes: Int) {
    guard cuts == nil, let found = PrefixCuts(original: original.graph, groups: groups),
      let executor = try? Executor(model: original, options: executorOptions)
    else { return }
    let frontier = found.frontierUnion.filter { executor.plan.canObserve($0) }
    guard !frontier.isEmpty else { return }
    var kept: [Int: [String: TensorValue]] = [:]
    var total = 0
    for s in Self.subset(k, of: inputs.count, spread: spreadsSubsets) {
      var values: [String: TensorValue] = [:]
      do {
        try observe(executor, sample: s, observing: frontier) { name, value in
          values[name] = value
          total += value.count * 4
        }
      } catch { break }
      guard total <= bytes else { break }
      kept[s] = values
    }
    if !kept.isEmpty { (cuts, held, resumable) = (found, kept, executor) }
  }

  /// Lets the original's plan go (probes then measure whole candidates from their cuts): once the
  /// probes are done, it would only add to the memory of the models measured after them.
  mutating func endStretchProbes() { resumable = nil }

  /// The stretch of the original (`PrefixCuts.Stretch`) that holds every node defining
  /// `values` (the outputs of the sites a probe changes), from the cut before the earliest of
  /// them; nil unless `holdCuts` held cuts and the values all lie between that cut and the next.
  func stretch(holding values: Set<String>) -> PrefixCuts.Stretch? {
    guard resumable != nil, let cuts else { return nil }
    let positions = values.compactMap { cuts.position(of: $0) }
    guard positions.count == values.count, let first = positions.min(), let k = cuts.cuts.firstIndex(where: { $0.position == first }),
      let stretch = cuts.stretch(from: k), positions.allSatisfy((stretch.start..<stretch.end).contains)
    else { return nil }
    return stretch
  }

  /// The outputs' difference of a candidate that differs from the original only inside
  /// `stretch`, given as `part` (the stretch as the candidate has it): on each input, `part`
  /// runs from the values held at the stretch's cut, and the original's plan from the end of
  /// the stretch on what `part` made and the held values (`Executor.resume`): the same bits as
  /// the candidate run whole, at the cost of the stretch and what follows it, with nothing of
  /// the rest built or compiled. Nil when it cannot be measured so (an input whose values are
  /// not held, a stretch that does not compile or run): measure the whole candidate then.
  mutating func difference(ofStretch part: Model, _ stretch: PrefixCuts.Stretch, inputs limit: Int = .max) -> OutputDifference? {
    let chosen = Self.subset(limit, of: inputs.count, spread: spreadsSubsets)
    guard let resumable, !chosen.isEmpty, chosen.allSatisfy({ held[$0] != nil }),
      let executor = try? Executor(model: part, options: executorOptions)
    else { return nil }
    let (heldValues, checkInputs) = (held, inputs)
    let outputs = try? parallelMap(chosen, workers: sideBySideWorkers) { s -> [String: TensorValue]? in
      let h = heldValues[s]!, x = checkInputs[s]
      var given: [String: TensorValue] = [:]
      for name in stretch.inputs {
        guard let v = h[name] ?? x[name] else { return nil }
        given[name] = v
      }
      guard let made = try? executor.run(given) else { return nil }
      var after = x
      for name in stretch.after {
        guard let v = stretch.made.contains(name) ? made[name] : h[name] else { return nil }
        after[name] = v
      }
      return try? resumable.resume(at: stretch.end, values: after)
    }
    guard let outputs, outputs.allSatisfy({ $0 != nil }) else { return nil }
    var d = OutputDifference()
    for (s, z) in zip(chosen, outputs) {
      runs += 1
      prefixRuns += 1
      d.add(reference: references[s], candidate: z!)
    }
    return d
  }

  /// The values of `names` in `held`, or nil when one is missing.
  private static func values(_ names: [String], from held: [String: TensorValue]) -> [String: TensorValue]? {
    var out: [String: TensorValue] = [:]
    for n in names {
      guard let v = held[n] else { return nil }
      out[n] = v
    }
    return out
  }

  /// Runs `executor` (any model compiled with `options`) on check input `s`, handing the values
  /// named in `observing` to `observer` as they are produced; counts the run.
  mutating func run(
    _ executor: Executor, sample s: Int, observing: Set<String>, observer: (String, TensorValue) throws -> Void
  ) throws -> [String: TensorValue] {
    runs += 1
    return try executor.run(inputs[s], observing: observing, observer: observer)
  }

  /// Runs `executor` on check input `s` only as far as the values named in `observing` (the
  /// prefix of the graph they lie in: `Executor.observe`), handing them to `observer`; counts
  /// the run (a partial one).
  mutating func observe(
    _ executor: Executor, sample s: Int, observing: Set<String>, observer: (String, TensorValue) throws -> Void
  ) throws {
    runs += 1
    try executor.observe(inputs[s], observing: observing, observer: observer)
  }

  /// The original's outputs on check input `s`.
  func reference(_ s: Int) -> [String: TensorValue] { references[s] }

  /// Output values the probes of the default count measure on at least (`probeInputs`).
  static let probeOutputValues = 4096
  /// Probe inputs of the default count: at least 2, at most 32.
  static let probeInputRange = 2...32

  /// How many inputs a single-site probe runs (which ones: `subset`): `requested`, or by default
  /// the fewest inputs whose original outputs hold `probeOutputValues` values, within `probeInputRange` and the
  /// inputs there are. A detector's map gives millions of values on 2 inputs; a classifier's 2
  /// logits on 2 inputs measure almost nothing (PP-OCR cls, 128 calibration lines, --ratio 0.5
  /// without the latency guard: measured error 0.57 with probes on 2 inputs, 0.29 on 8, 0.19 on 32).
  func probeInputs(_ requested: Int?) -> Int {
    Self.probeInputs(requested, outputValues: references.first.map(Self.valueCount) ?? 1, inputs: inputs.count)
  }

  /// The `k` inputs (of `count`) a measurement on `k` inputs runs, in ascending order: all when
  /// k ≥ count; else, with `spread`, input i·count/k for i < k (inputs grouped by kind in a
  /// calibration folder are all represented; sequential correction picks its fitting inputs so
  /// too), without, the first k.
  static func subset(_ k: Int, of count: Int, spread: Bool) -> [Int] {
    let n = min(max(k, 0), count)
    if n == count || !spread { return Array(0..<n) }
    return (0..<n).map { $0 * count / n }
  }

  /// `probeInputs` for outputs of `outputValues` values per input and `inputs` inputs.
  static func probeInputs(_ requested: Int?, outputValues: Int, inputs: Int) -> Int {
    if let requested { return min(requested, inputs) }
    let perInput = max(outputValues, 1)
    let wanted = (probeOutputValues + perInput - 1) / perInput
    return min(max(wanted, probeInputRange.lowerBound), probeInputRange.upperBound, inputs)
  }

  /// Values in all of one input's outputs.
  private static func valueCount(_ outputs: [String: TensorValue]) -> Int { outputs.values.reduce(0) { $0 + $1.count } }

  /// The executor settings of the bench's runs.
  var options: ExecutorOptions { executorOptions }

  /// The largest relative output error of `candidate` (infinite when it does not run).
  mutating func error(of candidate: Model, inputs limit: Int = .max) -> Double {
    difference(of: candidate, inputs: limit)?.error ?? .infinity
  }
}
