import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Whole-file reads and atomic writes, with the checks a hostile path calls for.
enum FileBytes {
  /// The bytes of the regular file at `path`.
  /// - Parameter limit: the largest size accepted.
  /// - Throws: `NumPyIOError.fileNotFound`, `.readFailed` (not a regular file — a FIFO or a
  ///   device could block or never end — or an I/O error), `.tooLarge`.
  static func read(path: String, limit: Int) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else {
      if errno == ENOENT { throw NumPyIOError.fileNotFound(path: path) }
      throw NumPyIOError.readFailed(path: path, reason: String(cString: strerror(errno)))
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw NumPyIOError.readFailed(path: path, reason: String(cString: strerror(errno))) }
    guard (info.st_mode & S_IFMT) == S_IFREG else { throw NumPyIOError.readFailed(path: path, reason: "it is not a regular file") }
    let size = Int(info.st_size)
    guard size <= limit else { throw NumPyIOError.tooLarge(source: path, detail: "\(size) bytes (the limit is \(limit))") }
    var bytes = [UInt8](repeating: 0, count: size)
    var done = 0
    while done < size {
      let n = bytes.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress! + done, min(size - done, 1 << 30)) }
      if n < 0 && errno == EINTR { continue }
      if n < 0 { throw NumPyIOError.readFailed(path: path, reason: String(cString: strerror(errno))) }
      if n == 0 { throw NumPyIOError.readFailed(path: path, reason: "it shrank while being read") }
      done += n
    }
    return bytes
  }

  /// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
  /// - Throws: `NumPyIOError.writeFailed`.
  static func write(_ bytes: [UInt8], to path: String) throws {
    do {
      try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      throw NumPyIOError.writeFailed(path: path, reason: (error as NSError).localizedDescription)
    }
  }
}
