import ArgumentParser
import Foundation
import ONNX
import RsTD

extension Method: ExpressibleByArgument {}
extension Layout: ExpressibleByArgument {}
extension ShuffleMode: ExpressibleByArgument {}
extension WeightStorage: ExpressibleByArgument {}

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

    @Option(help: ArgumentHelp(
      "How Conv/Gemm/MatMul weights (factors and kept kernels; not biases) are stored: fp16 rebuilt by Cast, int8 (per-channel scale) by Cast and Mul; onnxruntime folds both at load. Under --ratio, the budget then counts bytes."))
    var weights: WeightStorage = .fp32

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
      o.weights = weights
      return o
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
        if !quiet {
          var stderr = StandardError()
          print(result.table, to: &stderr)
        }
      } catch {
        ExitStatus.fail(error)
      }
    }
  }
}
