import ONNX

extension Rewriter {
  /// `rewriteMeasured` under a storage bound: the storage allocation first, on the original
  /// model, then the rewrite with the weights it keeps float32 (`RewriteOptions.storageKept`).
  /// When the original cannot be run, the rewrite goes on without it (and says why).
  func rewriteHoldingStorage(_ model: inout Model, bound: Double, rereading read: (() throws -> Model)?) throws -> RewriteOutcome {
    var inner = options
    inner.check.storageBound = .none
    if let load = inner.check.inputsFor {
      progress?("reading the calibration inputs")
      inner.check.inputs = try load(model)
      inner.check.inputsFor = nil
    }
    progress?("measuring what weight storage alone does")
    var measured: StorageMeasurement?
    if var bench = try? OutputBench(original: model, check: inner.check, seed: options.seed) {
      let m = try allocateStorage(original: model, bound: bound, bench: &bench)
      inner.storageKept = m.kept
      inner.storageKeptEstimated = m.probing != nil
      measured = m
    }
    var outcome = try Rewriter(options: inner, progress: progress).rewriteMeasured(&model, rereading: read)
    if let measured, outcome.measurement.status == .measured {
      outcome.measurement.storage = measured
      outcome.measurement.modelRuns += measured.modelRuns
    }
    return outcome
  }

  /// The weights to keep float32 so that storing the others as `--weights` asks moves the
  /// original model's outputs by at most `bound` on the bench's inputs.
  ///
  /// Each weight is probed alone: eᵥ, the error of the model with weight v alone stored, on the
  /// first input (the probes only order the weights); past `probeGroupLimit` weights, in that
  /// many groups, eᵥ a share of the group's error by v's relative storage error (`probeShares`).
  /// Weights are kept float32 in order of eᵥ² per byte saved (in deep
  /// networks a few small early layers carry most of it), as few as a bisection on measured
  /// models finds enough: the errors of many weights do not add up reliably (on PP-OCR det the
  /// probes' Σ eᵥ² is ten times the square of the error with all stored), so only the order
  /// comes from the probes. Every returned choice was measured on all inputs; keeping every
  /// weight is the original model.
  /// Probes start from the original's values before their group's first reader when they fit.
  /// Model runs: inputs × (2 + ⌈log₂ weights⌉) + 1 + min(weights, `probeGroupLimit`), plus
  /// inputs once for the check of `StoredWeightRuns`.
  func allocateStorage(original: Model, bound: Double, bench: inout OutputBench) throws -> StorageMeasurement {
    let weights = storedWeightCandidates(original.graph)
    let all = try storing(original, keeping: [:])
    let allDifference = bench.difference(of: all.model)
    let allError = allDifference?.error ?? .infinity
    let stored = all.stored.map(\.name)
    let storageError = Dictionary(all.stored, uniquingKeysWith: { a, _ in a })
    guard allError > bound else {
      return StorageMeasurement(
        bound: bound, allStoredError: allError, storedError: allError, weightsStored: stored.count, kept: [:],
        modelRuns: bench.runs)
    }
    // Up to `probeGroupLimit` weights each alone; more in that many groups, each weight taking a
    // share of its group's error by its own storage error (a probe runs the model from its group on).
    var alone: [String: Double] = [:]
    let groups = Rewriter.probeGroups(Array(stored.indices))
    // A probe stores only its group's weights: it runs from the original's values before the
    // first node reading one (`OutputBench.holdCuts`).
    let readers = groups.map { g in
      Set(g.flatMap { original.graph.consumers(of: stored[$0]).compactMap { original.graph.node($0).outputs.first } })
    }
    bench.holdCuts(original: original, groups: readers, probeInputs: 1, bytes: OutputBench.backOffHeldBytes)
    // Candidates measured on the original's plan with the stored values in place, when that is
    // checked to give their bits (`StoredWeightRuns`); else each is built and compiled.
    var unkept = options
    unkept.storageKept = [:]
    let candidates = try allDifference.flatMap { all in
      try options.check.replacesStoredWeights
        ? StoredWeightRuns(original: original, stored: stored, allStored: all, rewriter: Rewriter(options: unkept), bench: &bench) : nil
    }
    let opset = original.opsetVersion("")
    let outputs = Set(original.graph.outputNames)
    // Probes by the candidates' runs, a batch of groups at a time; a group they cannot probe (its
    // cut not held) is probed as before.
    let batch = max(1, bench.options.threads)
    var replaced: [OutputDifference?] = []
    for (n, group) in groups.enumerated() {
      progress?(group.count == 1 ? "probing the storage of weight \(n + 1) of \(groups.count)"
        : "probing the storage of weight group \(n + 1) of \(groups.count) (\(group.count) weights)")
      let names = group.map { stored[$0] }
      if let candidates, n % batch == 0 {
        let next = n..<min(n + batch, groups.count)
        replaced = candidates.probes(
          storing: next.map { groups[$0].map { stored[$0] } }, readers: Array(readers[next]), inputs: 1, bench: &bench)
      }
      // A weight that is also a graph output is not stored at all: whole candidates then.
      let error = try (candidates == nil ? nil : replaced[n % batch])?.error ?? probeError(
        &bench, changing: readers[n], original: original, inputs: 1,
        stretches: opset != nil && !names.contains(where: outputs.contains),
        edit: { _ = try store(names, in: &$0, opset: opset!, options: options) },
        whole: {
          let members = Set(names)
          var keepOthers: [String: Double] = [:]
          for v in weights where !members.contains(v) { keepOthers[v] = 0 }
          return try storing(original, keeping: keepOthers).model
        })
      let shares = Rewriter.probeShares(of: error, weights: group.map { storageError[stored[$0]] ?? 0 })
      for (i, share) in zip(group, shares) { alone[stored[i]] = share }
    }
    bench.endStretchProbes()
    let probing = groups.count < stored.count
      ? "\(stored.count) weights probed in \(groups.count) groups (more than \(Rewriter.probeGroupLimit): "
        + "each weight's error is its share of its group's measured error, by its storage error)"
      : nil
    let saved = Dictionary(uniqueKeysWithValues: stored.map { ($0, savedBytes(of: $0, in: original.graph)) })
    // Most error per byte saved first; ties by name, so the choice is deterministic.
    let order = stored.sorted {
      let a = alone[$0]! * alone[$0]! / Double(max(saved[$0]!, 1)), b = alone[$1]! * alone[$1]! / Double(max(saved[$1]!, 1))
      return a != b ? a > b : $0 < $1
    }
    // The smallest k such that keeping the first k float32 meets the bound, by bisection on
    // measured models: k = 0 (all stored) fails, k = all is the original.
    var lo = 0, hi = order.count
    var best = StorageMeasurement(
      bound: bound, allStoredError: allError, storedError: 0, weightsStored: 0, kept: alone, modelRuns: 0, probing: probing)
    while hi - lo > 1 {
      let mid = (lo + hi) / 2
      progress?("keeping \(mid) of \(order.count) weights float32")
      let kept = Dictionary(uniqueKeysWithValues: order.prefix(mid).map { ($0, alone[$0]!) })
      let e: Double, storedCount: Int
      if let candidates {
        // Storing is decided weight by weight: the candidate stores what `all` does but `kept`.
        (e, storedCount) = (candidates.difference(keeping: kept, bench: &bench)?.error ?? .infinity, stored.count - kept.count)
      } else {
        let candidate = try storing(original, keeping: kept)
        (e, storedCount) = (bench.error(of: candidate.model), candidate.stored.count)
      }
      if e <= bound {
        hi = mid
        best = StorageMeasurement(
          bound: bound, allStoredError: allError, storedError: e, weightsStored: storedCount, kept: kept, modelRuns: 0,
          probing: probing)
      } else {
        lo = mid
      }
    }
    best.modelRuns = bench.runs
    return best
  }

  /// The constant weights of default-domain Conv/Gemm/MatMul nodes (input 1), in graph order.
  private func storedWeightCandidates(_ graph: Graph) -> [String] {
    let linear: Set<String> = ["Conv", "Gemm", "MatMul"]
    var seen: Set<String> = []
    return graph.nodeIDs.map(graph.node).compactMap { node -> String? in
      guard node.isDefaultDomain, linear.contains(node.opType), node.inputs.count > 1 else { return nil }
      let w = node.inputs[1]
      return !w.isEmpty && seen.insert(w).inserted ? w : nil
    }
  }

  /// `model` with every candidate weight but those in `kept` stored as `--weights` asks (by the
  /// same `storeKept` the rewrite uses), the weights that were, and their relative storage errors.
  func storing(_ model: Model, keeping kept: [String: Double]) throws -> (model: Model, stored: [(name: String, error: Double)]) {
    var o = options
    o.storageKept = kept
    var m = model
    guard let opset = m.opsetVersion("") else { return (m, []) }
    let stored = try store(storedWeightCandidates(m.graph).filter { kept[$0] == nil }, in: &m.graph, opset: opset, options: o)
    return (m, stored)
  }

  /// `graph` with `weights` (in graph order) stored as `--weights` asks, by the `storeKept` the
  /// rewrite uses under `options`; the weights that were, and their relative storage errors.
  private func store(
    _ weights: [String], in graph: inout Graph, opset: Int, options: RewriteOptions
  ) throws -> [(name: String, error: Double)] {
    let r = Rewriter(options: options)
    var detached: Set<String> = []
    var stored: [(name: String, error: Double)] = []
    for w in weights {
      if let e = try r.storeKept(w, in: &graph, opset: opset, detached: &detached).error { stored.append((w, e)) }
    }
    graph.removeUnused(detached)
    return stored
  }

  /// Bytes storing `weight` as asked saves over float32.
  private func savedBytes(of weight: String, in graph: Graph) -> Int {
    // Checked count (file dims are not trusted); a stored weight was decoded, so it is its length.
    let count = (try? graph.constant(weight))??.elementCount ?? 0
    return count * (4 - options.weights.bytesPerParameter)
  }
}
