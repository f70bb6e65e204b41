import ArgumentParser
import Foundation
import RsTD

@main
struct OnnxRstd: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "onnx-rstd",
    abstract: "Compress the Conv layers of an ONNX model by (randomly shuffled) low-rank tensor decomposition.",
    discussion: ExitStatus.help,
    version: Rewriter.version,
    subcommands: [Rewrite.self, Inspect.self],
    defaultSubcommand: Rewrite.self)
}
