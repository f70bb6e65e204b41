import Executor
import NumPyIO
import ONNX

/// Exit statuses of the errors `run` and `verify` add (their numbers are in `ExitStatus.help`).
extension ExitStatus {
  /// `verify`: an output is above --max-rel-error, missing, of another shape or non-finite.
  static let aboveBound: Int32 = 1

  /// The status of an executor, .npy/.npz or input error; nil for other domains.
  static func executionCode(for error: Error) -> Int32? {
    switch error {
    case let e as NumPyIOError:
      switch e {
      case .fileNotFound, .readFailed: return 66
      case .writeFailed: return 73
      default: return 65
      }
    case let e as ExecutorError:
      switch e {
      case .unsupportedOp, .unsupported, .unsupportedOpset: return 69  // EX_UNAVAILABLE
      default: return 65
      }
    case is InputError, is VerifyError, is CalibrationError: return 65
    default: return nil
    }
  }
}
