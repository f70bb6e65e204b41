import ArgumentParser
import Foundation
import ONNX
import RsTD

extension Method: ExpressibleByArgument {}
extension Layout: ExpressibleByArgument {}
extension ShuffleMode: ExpressibleByArgument {}
extension FitTarget: ExpressibleByArgument {}
extension WeightStorage: ExpressibleByArgument {}
extension Objective: ExpressibleByArgument {}
extension AllocationBasis: ExpressibleByArgument {}

extension OnnxRstd {
  struct Rewrite: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "rewrite",
      abstract: "Rewrite every eligible Conv into a smaller chain (the default command).",
      discussion: """
        Ranks: at most one of --rank, --ratio, --max-error; the default bounds the relative weight error \
        per site by 0.3 on k×k kernels and 0.1 on 1×1 convs, \
        which keeps layers that cannot shrink under that bound. \
        \(ExitStatus.help)
        """)

    @Argument(help: "The ONNX model to read (never modified).")
    var input: String

    @Argument(help: "Where to write the rewritten model (required unless --dry-run).")
    var output: String?

    @Option(help: "Decomposition format.")
    var method: Method = .auto

    @Option(help: "factorized: a chain of smaller convs; reconstructed: the original Conv fed by an in-graph rebuild of its kernel.")
    var layout: Layout = .factorized

    @Option(help: "Shuffle before decomposing (kron channels; reconstructed: all kernel entries).")
    var shuffle: ShuffleMode = .none

    @Option(help: "Seed of the shuffles.")
    var seed: UInt64 = 1810

    @Option(help: ArgumentHelp("The same rank at every site, or 'full' for the lossless rank.", valueName: "N|full"))
    var rank: String?

    @Option(help: ArgumentHelp("Keep the eligible sites' total parameters under this fraction of the original.", valueName: "R"))
    var ratio: Double?

    @Option(name: .customLong("max-error"), help: ArgumentHelp("Smallest ranks with relative weight error at most E per site.", valueName: "E"))
    var maxError: Double?

    @Option(
      name: .customLong("target-error"),
      help: ArgumentHelp(
        "Keep the measured relative output error at most E: sites that move the outputs most are kept until it holds (default 0.05 under the default ranks; none under --rank, --ratio, --max-error).",
        valueName: "E"))
    var targetError: Double?

    @Option(
      help: ArgumentHelp(
        "Run the check on these inputs: a .npz with one array per model input, samples stacked on axis 0, or a folder of such files.",
        valueName: "PATH"))
    var calibration: String?

    // 32: with fewer, response fits learn the samples and the stated error understates the error
    // on new inputs (docs/calibration.md, "How many samples").
    @Option(name: .customLong("calibration-samples"), help: ArgumentHelp("Use at most N calibration samples.", valueName: "N"))
    var calibrationSamples = 32

    @Option(
      name: .customLong("holdout-samples"),
      help: ArgumentHelp(
        "Hold out the K calibration samples after the first --calibration-samples: nothing is fitted, probed or bounded on them; the written model's error on them is measured and reported (heldOut).",
        valueName: "K"))
    var holdoutSamples = 0

    @Option(
      help: ArgumentHelp(
        "What the factors of ungrouped convs are fitted to: their weights, or their responses on the check inputs (svd: response PCA; spatial, cp: last factor by least squares on the input patches; tucker2: response PCA and a whitened input mode; bias corrected; needs the check). Default: responses with --calibration, else weights.",
        valueName: "weights|responses"))
    var fit: FitTarget?

    @Option(
      help: ArgumentHelp(
        "What the ranks of response-fitted sites are allocated by under --ratio or --target-error: weight-error curves, or response curves with one measured probe per site (docs/calibration.md).",
        valueName: "weights|responses"))
    var allocation: AllocationBasis = .responses

    @Option(
      name: .customLong("correction-stages"),
      help: ArgumentHelp(
        "Under --fit responses: refit each svd, tucker2, cp or spatial site's last factor and bias to the original layer's output, fed by the compressed upstream, in K stages in graph order; each stage kept only if the measured error does not grow (0: off).",
        valueName: "K"))
    var correctionStages = 8

    @Option(
      name: .customLong("correction-samples"),
      help: ArgumentHelp(
        "Calibration samples (evenly spread) sequential correction fits and keeps its stages on; with fewer than all, the result is kept only if its error on all samples does not grow.",
        valueName: "N"))
    var correctionSamples = 16

    @Flag(
      name: .customLong("correction-both-factors"),
      help: "Sequential correction also tries both svd factors by reduced-rank regression on the input patches, per stage, kept where it measures better (more runs: PP-OCR det --ratio 0.5 +59% CPU).")
    var correctionBothFactors = false

    @Flag(name: .customLong("no-check"), help: "Do not run the models: ranks from weight error alone, outputs not measured.")
    var noCheck = false

    @Option(name: .customLong("check-samples"), help: ArgumentHelp("Synthetic inputs the output check runs.", valueName: "N"))
    var checkSamples = 4

    @Option(
      name: .customLong("probe-samples"),
      help: ArgumentHelp(
        "Inputs each single-site probe runs: N calibration samples spread evenly over them, or the first N synthetic inputs. Default: enough for 4096 output values, 2 to 32.",
        valueName: "N"))
    var probeSamples: Int?

    @Option(
      name: .customLong("input-shape"),
      help: ArgumentHelp("Shape of a synthetic input, overriding open dimensions (repeatable).", valueName: "NAME=1x3x224x224"))
    var inputShape: [String] = []
    @Option(help: ArgumentHelp(
      "How Conv/Gemm/MatMul weights (factors and kept kernels; not biases) are stored: fp16 rebuilt by Cast, int8 (per-channel scale) by Cast and Mul; onnxruntime folds both at load. Under --ratio, the budget then counts bytes."))
    var weights: WeightStorage = .fp32

    @Option(
      name: .customLong("storage-error"),
      help: ArgumentHelp(
        "Under --weights: keep the output error of weight storage alone at most E, keeping float32 the weights whose storage moves the outputs most (measured; default 0.001 for fp16, none for int8; 'none': measure only).",
        valueName: "E|none"))
    var storageError: String?

    @Option(help: ArgumentHelp(
      "What the rank policy minimises: stored parameters, multiply-adds, or onnxruntime latency predicted by the runtime cost model (docs/latency.md). Any objective: a chain predicted slower than its node is not emitted."))
    var objective: Objective = .params

    @Option(
      name: .customLong("channel-align"),
      help: ArgumentHelp("The runtime's channel block: ranks are multiples of it where that is profitable (16 for AVX-512 CPUs, 8 for AVX2; 1: off).", valueName: "N"))
    var channelAlign = 16

    @Flag(
      name: .customLong("no-latency-guard"),
      help: "Emit chains the onnxruntime CPU cost model predicts slower than their node (for other runtimes; the parameter and multiply-add guard stays).")
    var noLatencyGuard = false

    @Option(help: ArgumentHelp("Only sites whose name matches this glob (repeatable).", valueName: "GLOB"))
    var include: [String] = []

    @Option(help: ArgumentHelp("Leave sites whose name matches this glob (repeatable).", valueName: "GLOB"))
    var exclude: [String] = []

    @Flag(name: .customLong("include-linear"), help: "Also rewrite Gemm and MatMul with a constant 2-D weight (svd).")
    var includeLinear = false

    @Flag(help: "Rewrite sites even when the chain is not cheaper (verification).")
    var force = false

    @Option(help: ArgumentHelp("Write the report as JSON to this file.", valueName: "FILE"))
    var report: String?

    @Flag(name: .customLong("dry-run"), help: "Plan and report without writing a model.")
    var dryRun = false

    @Flag(name: .customLong("external-data"), help: "Store tensors of 1 KiB or more in '<output>.data' beside the output.")
    var externalData = false

    @Flag(help: "Do not print the report table.")
    var quiet = false

    func validate() throws {
      if [rank != nil, ratio != nil, maxError != nil].filter({ $0 }).count > 1 {
        throw ValidationError("Give at most one of --rank, --ratio and --max-error.")
      }
      if let rank, rank != "full", (Int(rank) ?? 0) < 1 {
        throw ValidationError("--rank takes a positive whole number or 'full', not '\(rank)'.")
      }
      if let ratio, !(ratio > 0 && ratio <= 1) { throw ValidationError("--ratio must be in (0, 1], not \(ratio).") }
      if let maxError, !(maxError >= 0 && maxError < 1) { throw ValidationError("--max-error must be in [0, 1), not \(maxError).") }
      if let targetError, !(targetError > 0 && targetError.isFinite) {
        throw ValidationError("--target-error must be a positive number, not \(targetError).")
      }
      if let storageError, storageError != "none", !(Double(storageError).map { $0 > 0 && $0.isFinite } ?? false) {
        throw ValidationError("--storage-error takes a positive number or 'none', not '\(storageError)'.")
      }
      if noCheck && storageError != nil && storageError != "none" {
        throw ValidationError("--storage-error needs the output check; drop --no-check.")
      }
      if noCheck && calibration != nil { throw ValidationError("--calibration feeds the output check; drop --no-check.") }
      if !(1...4096).contains(calibrationSamples) {
        throw ValidationError("--calibration-samples must be in 1...4096, not \(calibrationSamples).")
      }
      if !(0...4096).contains(holdoutSamples) {
        throw ValidationError("--holdout-samples must be in 0...4096, not \(holdoutSamples).")
      }
      if holdoutSamples > 0 && calibration == nil { throw ValidationError("--holdout-samples holds out calibration samples; give --calibration.") }
      if noCheck && fit == .responses { throw ValidationError("--fit responses needs the output check's runs; drop --no-check.") }
      if noCheck && targetError != nil { throw ValidationError("--target-error needs the output check; drop --no-check.") }
      if !(1...1024).contains(channelAlign) { throw ValidationError("--channel-align must be in 1...1024, not \(channelAlign).") }
      if let probeSamples, !(1...4096).contains(probeSamples) { throw ValidationError("--probe-samples must be in 1...4096, not \(probeSamples).") }
      if !(0...64).contains(correctionStages) { throw ValidationError("--correction-stages must be in 0...64, not \(correctionStages).") }
      if !(1...4096).contains(correctionSamples) { throw ValidationError("--correction-samples must be in 1...4096, not \(correctionSamples).") }
      if !(1...1024).contains(checkSamples) { throw ValidationError("--check-samples must be in 1...1024, not \(checkSamples).") }
      _ = try parsedInputShapes()
      if output == nil && !dryRun { throw ValidationError("Give an output path, or --dry-run to only plan.") }
      if let output, URL(fileURLWithPath: output).standardizedFileURL == URL(fileURLWithPath: input).standardizedFileURL {
        throw ValidationError("The output path is the input path; onnx-rstd never overwrites its input.")
      }
      if layout == .reconstructed && (method == .cp || method == .kron) {
        throw ValidationError("--layout reconstructed rebuilds svd or tucker2 factors; use --method auto, svd or tucker2.")
      }
    }

    var options: RewriteOptions {
      var o = RewriteOptions()
      o.method = method
      o.layout = layout
      o.shuffle = shuffle
      o.seed = seed
      if let rank { o.ranks = rank == "full" ? .full : .fixed(Int(rank)!) }
      if let ratio { o.ranks = .ratio(ratio) }
      if let maxError { o.ranks = .maxError(maxError) }
      o.include = include
      o.exclude = exclude
      o.includeLinear = includeLinear
      o.force = force
      o.check.enabled = !noCheck
      o.fit = fit ?? (calibration != nil ? .responses : .weights)
      o.allocation = allocation
      o.correctionStages = correctionStages
      o.correctionSamples = correctionSamples
      o.correctionBothFactors = correctionBothFactors
      if let calibration {
        let samples = calibrationSamples
        o.check.inputsFor = { model in try CalibrationInputs.load(path: calibration, model: model, samples: samples) }
        o.check.inputsSource = calibration
        if holdoutSamples > 0 {
          let heldOut = holdoutSamples
          o.check.heldOutFor = { model in try CalibrationInputs.heldOut(path: calibration, model: model, samples: heldOut, after: samples) }
        }
      }
      if let targetError { o.check.bound = .relative(targetError) }
      o.check.samples = checkSamples
      o.check.probeSamples = probeSamples
      o.check.inputShapes = (try? parsedInputShapes()) ?? [:]
      o.weights = weights
      if let storageError { o.check.storageBound = Double(storageError).map { .relative($0) } ?? .none }
      o.objective = objective
      o.channelAlign = channelAlign
      o.latencyGuard = !noLatencyGuard
      return o
    }

    /// `--input-shape NAME=AxBxC` values by name.
    func parsedInputShapes() throws -> [String: [Int]] {
      var shapes: [String: [Int]] = [:]
      for spec in inputShape {
        guard let eq = spec.lastIndex(of: "="), eq != spec.startIndex else {
          throw ValidationError("--input-shape takes NAME=1x3x224x224, not '\(spec)'.")
        }
        let dims = spec[spec.index(after: eq)...].split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard !dims.isEmpty, dims.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 1 << 20 }) else {
          throw ValidationError("--input-shape '\(spec)': dimensions must be whole numbers in 1...1048576.")
        }
        shapes[String(spec[..<eq])] = dims.map { $0! }
      }
      return shapes
    }

    func run() throws {
      do {
        // A status line on a terminal only; pipes and CI logs get the table alone.
        let terminal = isatty(STDERR_FILENO) == 1 && !quiet
        let progress: ((String) -> Void)? = terminal ? { line in
          FileHandle.standardError.write(Data("\r\u{1B}[Konnx-rstd: \(line)…".utf8))
        } : nil
        // The report is written with the model, as one transaction: both or neither.
        let result = try Rewriter(options: options, progress: progress).run(
          input: input, output: output, report: report, dryRun: dryRun,
          externalData: externalData ? .always(thresholdBytes: 1024) : .automatic)
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        var stderr = StandardError()
        if !quiet {
          print(result.table, to: &stderr)
        } else if result.measurement.status == .unavailable {
          print("onnx-rstd: note: \(result.measurement.summary)", to: &stderr)
        }
        let m = result.measurement
        if m.status == .measured, m.bound == nil, let e = m.outputError, !(e <= OutputCheck.defaultBound) {
          print(
            "onnx-rstd: warning: the outputs moved by \(e) (relative, measured), more than the default bound \(OutputCheck.defaultBound); "
              + "pass --target-error to hold the rewrite to a bound", to: &stderr)
        }
        if let h = m.heldOut, let bound = m.bound, !((h.outputError ?? .infinity) <= bound) {
          print(
            "onnx-rstd: warning: on the \(h.samples) held-out sample(s) the outputs moved by \(h.outputError.map { "\($0)" } ?? "∞ (did not run)"), "
              + "more than the bound \(bound) held on the calibration samples; calibrate on more samples (docs/calibration.md)", to: &stderr)
        }
        if m.status == .measured, m.outputError == nil {
          print("onnx-rstd: warning: \(m.note ?? "the rewritten model could not be measured"); its outputs are unchecked", to: &stderr)
        }
      } catch {
        ExitStatus.fail(error)
      }
    }
  }
}
