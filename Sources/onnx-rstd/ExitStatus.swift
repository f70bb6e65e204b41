import Foundation
import ArgumentParser
import ONNX
import RsTD
import TensorAlgebra

/// The one place library errors become exit statuses (sysexits.h numbers).
enum ExitStatus {
  static let help = """
    Exit status: 0 success; 64 usage error (bad options, output path equal to the input, a --ratio no plan can reach); \
    65 the input is not a valid ONNX model or holds malformed data; 66 the input file does not exist or cannot be read; \
    70 a decomposition failed; 73 the output cannot be written (e.g. its folder does not exist). \
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
    case RewriteError.budgetTooSmall: return 64
    case is RewriteError: return 65
    case is DecompositionError: return 70
    default: return 1
    }
  }

  /// Prints `onnx-rstd: error: <one sentence>` and exits with the mapped status.
  static func fail(_ error: Error) -> Never {
    var stderr = StandardError()
    print("onnx-rstd: error: \(error)", to: &stderr)
    Foundation.exit(code(for: error))
  }
}

struct StandardError: TextOutputStream {
  mutating func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}
