import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A file created next to its final destination under a unique hidden name, written, flushed
/// to disk, then renamed over the destination in one step; removed if anything fails first.
final class TemporaryFile {
  /// Where the file goes once `commit()` succeeds.
  let destination: String
  private(set) var path: String
  private var fd: Int32

  /// Creates `.<name>.tmp-<pid>-<random>` in the destination's folder, with the permissions a
  /// plain create gives (0666 minus the umask, applied by the kernel).
  /// - Throws: `ONNXError.writeFailed`.
  init(destination: String) throws {
    self.destination = destination
    let url = URL(fileURLWithPath: destination)
    let prefix = url.deletingLastPathComponent().path + "/." + url.lastPathComponent + ".tmp-\(getpid())-"
    var generator = SystemRandomNumberGenerator()
    while true {
      let candidate = prefix + String(generator.next() as UInt64, radix: 16)
      let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
      if fd >= 0 {
        self.fd = fd
        self.path = candidate
        return
      }
      if errno != EEXIST {
        throw ONNXError.writeFailed(path: destination, reason: String(cString: strerror(errno)))
      }
    }
  }

  deinit { discard() }

  /// Appends `bytes`.
  /// - Throws: `ONNXError.writeFailed`.
  func write(_ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    while offset < bytes.count {
      let written = Foundation.write(fd, bytes.baseAddress! + offset, min(bytes.count - offset, 1 << 30))
      if written < 0 {
        if errno == EINTR { continue }
        throw ONNXError.writeFailed(path: destination, reason: String(cString: strerror(errno)))
      }
      offset += written
    }
  }

  /// Appends `data`.
  func write(_ data: Data) throws {
    try data.withUnsafeBytes { try write($0) }
  }

  /// Appends `count` zero bytes.
  func writeZeros(_ count: Int) throws {
    guard count > 0 else { return }
    try [UInt8](repeating: 0, count: count).withUnsafeBytes { try write($0) }
  }

  /// Flushes the file to disk and closes it; it still has its temporary name.
  /// - Throws: `ONNXError.writeFailed`.
  func finish() throws {
    guard fd >= 0 else { return }
    if fsync(fd) != 0 {
      throw ONNXError.writeFailed(path: destination, reason: String(cString: strerror(errno)))
    }
    let result = close(fd)
    fd = -1
    if result != 0 { throw ONNXError.writeFailed(path: destination, reason: String(cString: strerror(errno))) }
  }

  /// Renames the finished file over `destination`.
  /// - Throws: `ONNXError.writeFailed`.
  func commit() throws {
    try finish()
    if rename(path, destination) != 0 {
      throw ONNXError.writeFailed(path: destination, reason: String(cString: strerror(errno)))
    }
    path = ""
  }

  /// Closes and removes the file unless it was committed.
  func discard() {
    if fd >= 0 { close(fd); fd = -1 }
    if !path.isEmpty { unlink(path); path = "" }
  }
}
