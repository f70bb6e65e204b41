import ArgumentParser
import Foundation

@main
struct OnnxRstd: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "onnx-rstd",
    abstract: "Compress the Conv layers of an ONNX model by (randomly shuffled) low-rank tensor decomposition.",
    discussion: ExitStatus.help,
    version: "0.1.0",
    subcommands: [Rewrite.self, Inspect.self],
    defaultSubcommand: Rewrite.self)

  /// `ParsableCommand.main()`, with SIGINT/SIGTERM handlers that remove temporary files.
  static func main() {
    SignalCleanup.install()
    main(nil)
  }
}
