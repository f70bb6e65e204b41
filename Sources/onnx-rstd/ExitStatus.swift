import Foundation
import ArgumentParser
import ONNX
import RsTD
import TensorAlgebra

/// The one place library errors become exit statuses (sysexits.h numbers), and the one place
/// errors are printed: always one line, `onnx-rstd: error: <sentence>`.
enum ExitStatus {
  static let help = """
    Exit status: 0 success; 1 (verify) an output differs by more than --max-rel-error, (rewrite) the output bound \
    cannot be met even with every site kept whole (weight storage alone exceeds it); 64 usage error (bad options, an output or report path that is the input or each other, \
    a --ratio no plan can reach); \
    65 the input is not a valid ONNX model or holds malformed data (including external data outside its folder, \
    through a symlink, or not a regular file), or --inputs is not a valid .npz or does not match the model's inputs \
    (names, dtypes, shapes), or (rewrite) the model fails to run on inputs of fixed sizes (or at batch 1 and 2 when only the batch is open); 66 the input file does not exist or cannot be read (for run and verify also --inputs), or (rewrite) it changed on disk during the run; \
    69 the executor does not implement an op, attribute or opset the model uses, or a tensor exceeds its size limit (run, verify); \
    70 a decomposition failed (or an internal error); 73 the output cannot be written (its folder or the report's \
    does not exist, or an existing output or report is not a regular file). \
    Nothing is written on failure and the input is never modified.
    """

  static func code(for error: Error) -> Int32 {
    switch error {
    case let e as ONNXError:
      switch e {
      case .fileNotFound, .readFailed: return 66
      case .outputDirectoryMissing, .writeFailed, .wouldOverwriteExternalData: return 73
      case .pathsAlias: return 64
      default: return 65
      }
    case is GraphError: return 65
    case RewriteError.budgetTooSmall: return 64
    case RewriteError.outputBoundNotMet: return 1
    case RewriteError.factorsMismatch: return 70
    case RewriteError.inputChanged: return 66
    case is RewriteError: return 65
    case is DecompositionError: return 70
    default: return executionCode(for: error) ?? 70  // an error no domain claims is a bug of ours: EX_SOFTWARE
    }
  }

  /// Prints `onnx-rstd: error: <one sentence>` and exits with the mapped status.
  static func fail(_ error: Error) -> Never {
    printLine(String(describing: error))
    Foundation.exit(code(for: error))
  }

  /// Prints the first line of an argument-parser message with a hint, and exits with `code`.
  static func failUsage(_ message: String, code: Int32) -> Never {
    let first = message.split(whereSeparator: \.isNewline).first.map(String.init) ?? "invalid arguments"
    let text = first.hasPrefix("Error: ") ? String(first.dropFirst("Error: ".count)) : first
    printLine(text + (code == 64 ? " (see --help)" : ""))
    Foundation.exit(code)
  }

  /// Writes `onnx-rstd: error: <message>` as exactly one line: names taken from the model (tensor
  /// and node names, locations) may hold line breaks or other control characters, escaped here.
  private static func printLine(_ message: String) {
    var line = ""
    for scalar in message.unicodeScalars {
      if scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}" {
        line += scalar.escaped(asASCII: true)
      } else {
        line.unicodeScalars.append(scalar)
      }
    }
    var stderr = StandardError()
    print("onnx-rstd: error: \(line)", to: &stderr)
  }
}

struct StandardError: TextOutputStream {
  mutating func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}
