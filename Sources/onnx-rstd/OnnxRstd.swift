import ArgumentParser
import Executor
import Foundation
import RsTD

@main
struct OnnxRstd: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "onnx-rstd",
    abstract: "Compress the Conv layers of an ONNX model by (randomly shuffled) low-rank tensor decomposition.",
    discussion: ExitStatus.help,
    version: Rewriter.version,
    subcommands: [Rewrite.self, Inspect.self, Run.self, Verify.self],
    defaultSubcommand: Rewrite.self)

  /// Parses and runs like `ParsableCommand.main()`, but a usage error is one line on stderr
  /// (the message's first line and a hint), not the message plus the whole usage, with exit 64.
  static func main() {
    SignalCleanup.install()
    // One short-lived process running many models: reuse freed buffers (docs/executor.md).
    Executor.keepFreedMemoryForReuse()
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      let code = exitCode(for: error)
      if code == .success {
        print(fullMessage(for: error))  // --help, --version
        Foundation.exit(0)
      }
      ExitStatus.failUsage(message(for: error), code: code.rawValue)
    }
  }
}
