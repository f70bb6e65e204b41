import Foundation
import ONNX

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// SIGINT and SIGTERM remove the run's temporary files, then exit 128 + signal (130, 143), so an
/// interrupted run leaves nothing behind (a SIGKILL cannot be caught: the next run removes those
/// files, whose names carry the dead process's id).
enum SignalCleanup {
  static func install() {
    TemporaryFiles.prepareForSignals()
    for sig in [SIGINT, SIGTERM] {
      signal(sig) { received in
        TemporaryFiles.removeAllForSignal()
        _exit(128 + received)
      }
    }
  }
}
