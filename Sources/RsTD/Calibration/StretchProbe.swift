import ONNX

extension Rewriter {
  /// The measured error of a probe that changes only the nodes defining `changed`: on its stretch
  /// alone when the bench can (`OutputBench.stretch(holding:)`: `edit` makes the change in the
  /// stretch, which runs from its cut, and the original resumes after it), else on the whole
  /// candidate `whole()` from its cut. The same bits either way (docs/calibration.md, "Probes run
  /// their stretch alone"). `stretches` false: whole candidates only (a change reaching further
  /// than `changed`, as kept weights stored otherwise than fp32 do).
  func probeError(
    _ bench: inout OutputBench, changing changed: Set<String>, original: Model, inputs: Int, stretches: Bool = true,
    edit: (inout Graph) throws -> Void, whole: () throws -> Model
  ) throws -> Double {
    if stretches, options.check.probesStretches, let stretch = bench.stretch(holding: changed) {
      var part = Model(graph: stretch.graph, opsets: original.opsets)
      try edit(&part.graph)
      if let d = bench.difference(ofStretch: part, stretch, inputs: inputs) { return d.error }
    }
    return bench.error(of: try whole(), inputs: inputs)
  }
}
