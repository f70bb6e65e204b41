import Foundation
import ONNX

/// A file the CLI writes in one step (temporary file beside it, flushed, renamed over it) through
/// the same `WriteTransaction` the rewriter uses, after checking it names none of the files read.
struct OutputFile {
  let path: String
  private let transaction: WriteTransaction

  /// Checks `path` before any work: not one of `reads` (by device and inode, through symlinks),
  /// its folder exists, and an existing file there is a regular file.
  /// - Parameter reads: the files the command reads, each with the role errors name it by
  ///   (`"the model"`, `"the --inputs file"`); the first is the model.
  /// - Throws: `ONNXError.pathsAlias`, `.outputDirectoryMissing`, `.writeFailed`.
  init(path: String, reads: [(role: String, path: String)]) throws {
    for (role, other) in reads where Self.sameFile(path, other) {
      throw ONNXError.pathsAlias(role: "output", path: path, other: role, otherPath: other)
    }
    self.path = path
    transaction = try WriteTransaction(input: reads.first?.path, model: nil, report: path)
  }

  /// Writes `bytes`; on failure the previous file (if any) is untouched.
  /// - Throws: `ONNXError.writeFailed`.
  func write(_ bytes: [UInt8]) throws {
    try transaction.stageReport(Data(bytes))
    try transaction.commit()
  }

  /// Whether both paths exist and are one file.
  private static func sameFile(_ a: String, _ b: String) -> Bool {
    var x = stat(), y = stat()
    guard stat(a, &x) == 0, stat(b, &y) == 0 else { return false }
    return x.st_dev == y.st_dev && x.st_ino == y.st_ino
  }
}
