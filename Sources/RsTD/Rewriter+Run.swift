import Foundation
import Executor
import ONNX

extension Rewriter {
  /// The whole job: load `input`, rewrite, stamp metadata, then save the model (unless a dry
  /// run) and the report as one transaction (`WriteTransaction`): both are in place, or neither.
  /// - Parameters:
  ///   - input: the model to read; never modified.
  ///   - output: where to write; required unless `dryRun`.
  ///   - report: where to write the report as JSON, or `nil`.
  ///   - dryRun: plan and report without writing a model.
  ///   - externalData: where the output's tensor bytes go; `.automatic` keeps an input that had
  ///     external data external (tensors ≥ 1 KiB in a side file beside the output).
  /// - Returns: the report, with totals.
  /// - Throws: `ONNXError` for unreadable input, unwritable or aliasing paths (checked before the
  ///   input is read), `RewriteError`, `DecompositionError`.
  public func run(
    input: String, output: String?, report: String? = nil, dryRun: Bool = false, externalData: ExternalDataPolicy = .automatic
  ) throws -> RewriteReport {
    let start = Date()
    let transaction = try WriteTransaction(input: input, model: dryRun ? nil : output, report: report)
    progress?("loading \(input)")
    var model = try Model.load(path: input)
    try transaction.checkAgainstExternalData(model.externalDataFiles)
    let sizeBefore = ([input] + model.externalDataFiles).reduce(0) { $0 + size(of: $1) }
    // The check may let go of the original while it measures, and read the file again to back off.
    let outcome = try rewriteMeasured(&model, rereading: { try Model.load(path: input) })
    let rows = outcome.sites
    model.setMetadata("onnx-rstd.version", Rewriter.version)
    model.setMetadata("onnx-rstd.options", optionsDescription.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))
    var sizeAfter = 0
    var bytesByType: [String: Int] = [:]
    if !dryRun, output != nil {
      bytesByType = model.graph.initializerBytesByType
      progress?("writing \(output!)")
      let policy = externalData == .automatic && !model.externalDataFiles.isEmpty
        ? .always(thresholdBytes: ExternalDataPolicy.automaticThresholdBytes) : externalData
      // The output check's plan is gone, but much of what it freed sits on the folding threads'
      // heaps, where the encoder's buffers cannot reuse it: handed back first, it is not part of
      // the write's peak (chain_8000 reconstructed: 400 → 381 MB).
      Executor.returnFreedMemory()
      sizeAfter = try model.stage(in: transaction, externalData: policy)
    }
    // Freeing a rewritten graph of ~10⁵ nodes takes a noticeable share of a run (0.5 s of the
    // reconstructed layout's at 8,000 convs); nothing below reads the model, so another thread
    // frees it while this one finishes.
    RetiredModel.release(consume model)
    let rewritten = rows.filter { $0.status == .rewritten }
    let totals = ReportTotals(
      sitesRewritten: rewritten.count, sitesKept: rows.count - rewritten.count,
      paramsBefore: rows.reduce(0) { $0 + $1.paramsBefore }, paramsAfter: rows.reduce(0) { $0 + $1.paramsAfter },
      macsBefore: rows.reduce(0) { $0 + $1.macsBefore }, macsAfter: rows.reduce(0) { $0 + $1.macsAfter },
      fileSizeBefore: sizeBefore, fileSizeAfter: sizeAfter, tensorBytesByType: bytesByType,
      predictedMicrosBefore: rows.reduce(0) { $0 + ($1.predictedMicrosBefore ?? 0) },
      predictedMicrosAfter: rows.reduce(0) { $0 + ($1.predictedMicrosAfter ?? 0) },
      seconds: Date().timeIntervalSince(start))
    let result = RewriteReport(
      tool: "onnx-rstd", version: Rewriter.version, options: optionsDescription, input: input,
      output: dryRun ? nil : output, dryRun: dryRun, sites: rows, totals: totals,
      measurement: outcome.measurement, latency: outcome.latency)
    if report != nil {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      try transaction.stageReport(encoder.encode(result))
    }
    try transaction.commit()
    return result
  }

  /// The options as strings, for metadata_props and the report.
  public var optionsDescription: [String: String] {
    let ranks: String
    switch options.ranks {
    case .full: ranks = "full"
    case .fixed(let r): ranks = "rank=\(r)"
    case .maxError(let e): ranks = "max-error=\(e)"
    case .maxErrorByKernel(let s, let p): ranks = "max-error=\(s) (k×k), \(p) (1×1)"
    case .ratio(let r): ranks = "ratio=\(r)"
    }
    return [
      "method": options.method.rawValue, "layout": options.layout.rawValue, "shuffle": options.shuffle.rawValue,
      "seed": String(options.seed), "ranks": ranks, "include": options.include.joined(separator: ","),
      "exclude": options.exclude.joined(separator: ","), "include-linear": String(options.includeLinear),
      "force": String(options.force), "check": checkDescription, "fit": options.fit.rawValue,
      "objective": options.objective.rawValue, "channel-align": String(options.channelAlign),
      "latency-guard": options.latencyGuard ? "on" : "off",
    ].merging(options.weights == .fp32 ? [:] : ["weights": options.weights.rawValue]) { a, _ in a }
      .merging(options.fit == .responses ? ["allocation": options.allocation.rawValue] : [:]) { a, _ in a }
  }

  /// The output check's settings, for metadata_props and the report.
  private var checkDescription: String {
    let c = options.check
    guard c.enabled else { return "off" }
    let bound = c.effectiveBound(under: options.ranks, weights: options.weights).map { "bound=\($0)" } ?? "measure-only"
    let inputs = c.inputsSource.map { "calibration \($0)" } ?? c.inputs.map { "\($0.count) given input sets" } ?? "synthetic samples=\(c.samples)"
      + c.inputShapes.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value.map(String.init).joined(separator: "x"))" }.joined()
    return "\(bound), \(inputs)" + (c.probeSamples.map { ", probe-samples=\($0)" } ?? "")
  }

  /// Size of a file in bytes, 0 when it does not exist.
  private func size(of path: String) -> Int {
    (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
  }
}

/// Moves a model whose last use has passed to a background thread to be freed there.
private final class RetiredModel: @unchecked Sendable {
  // Only the background thread touches `model` after `release` hands it over.
  private var model: Model?
  private init(_ model: consuming Model) { self.model = model }

  static func release(_ model: consuming Model) {
    let retired = RetiredModel(model)
    DispatchQueue.global(qos: .utility).async { retired.model = nil }
  }
}
