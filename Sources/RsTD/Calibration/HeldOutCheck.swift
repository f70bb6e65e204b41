import ONNX

extension Rewriter {
  /// Rewrites `model` in place and measures what that did to its outputs (`OutputCheck`;
  /// `rewriteOnCheckInputs` says how ranks are held to the bound). With held-out inputs
  /// (`OutputCheck.heldOutFor`), the written model is then measured on them too, which no
  /// choice saw: the report's `heldOut`. They are read before the rewrite, so bad files fail
  /// before any work. Model runs: 2 × held-out samples more.
  /// - Parameter read: reads `model` again as it is passed here (the CLI reads its input file):
  ///   given, the check lets go of its copy of the original while it measures the planned
  ///   rewrite and reads it again only to back off (`OriginalModel`), which lowers the peak
  ///   memory by the weights of the rewritten layers. Not used with held-out inputs, whose
  ///   measurement holds the original anyway.
  /// - Throws: also `RewriteError.inputChanged` when the model read again differs. After a
  ///   throw `model` holds no defined rewrite (a back-off lets the planned model go first).
  public func rewriteMeasured(_ model: inout Model, rereading read: (() throws -> Model)? = nil) throws -> RewriteOutcome {
    try Rewriter.validate(&model)  // before the check runs it
    guard options.check.enabled, let load = options.check.heldOutFor else { return try rewriteOnCheckInputs(&model, rereading: read) }
    let original = model
    progress?("reading the held-out inputs")
    let inputs = try load(original)
    var inner = options
    inner.check.heldOutFor = nil
    var outcome = try Rewriter(options: inner, progress: progress).rewriteOnCheckInputs(&model)
    guard outcome.measurement.status == .measured else { return outcome }
    progress?("measuring the written model on the held-out inputs")
    var check = options.check
    (check.inputs, check.inputsFor, check.inputsSource) = (inputs, nil, nil)
    // The original ran on the check inputs, so it runs on these; a failure here is a model
    // that does not run on the held-out inputs, reported as a measurement that did not run.
    guard var bench = try? OutputBench(original: original, check: check, seed: options.seed) else {
      outcome.measurement.heldOut = HeldOutMeasurement(samples: inputs.count, outputError: nil, outputErrors: nil)
      return outcome
    }
    let d = bench.difference(of: model)
    outcome.measurement.heldOut = HeldOutMeasurement(samples: inputs.count, outputError: d?.error ?? .infinity, outputErrors: d?.perOutput)
    outcome.measurement.modelRuns += bench.runs
    return outcome
  }
}
