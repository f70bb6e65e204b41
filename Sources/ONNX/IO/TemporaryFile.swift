import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A file created next to its final destination under a unique hidden name, written, flushed
/// to disk, then moved to the destination in one step; removed if anything fails first, and on
/// SIGINT/SIGTERM when the CLI installed its handlers (`TemporaryFiles`).
final class TemporaryFile {
  /// The marker in every temporary name: `.<name>.onnx-rstd-tmp-<pid>-<random hex>`.
  static let marker = ".onnx-rstd-tmp-"

  /// Where the file goes once `commit()` succeeds.
  let destination: String
  private(set) var path: String
  private var fd: Int32
  private var slot: Int?

  /// Creates `.<name>.onnx-rstd-tmp-<pid>-<random>` in the destination's folder, with the
  /// permissions a plain create gives (0666 minus the umask, applied by the kernel).
  /// - Throws: `ONNXError.writeFailed`.
  init(destination: String) throws {
    self.destination = destination
    let url = URL(fileURLWithPath: destination)
    let prefix = url.deletingLastPathComponent().path + "/." + url.lastPathComponent + Self.marker + "\(getpid())-"
    var generator = SystemRandomNumberGenerator()
    while true {
      let candidate = prefix + String(generator.next() as UInt64, radix: 16)
      let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
      if fd >= 0 {
        self.fd = fd
        self.path = candidate
        slot = TemporaryFiles.register(candidate)
        return
      }
      if errno != EEXIST {
        throw ONNXError.writeFailed(path: destination, reason: String(cString: strerror(errno)))
      }
    }
  }

  deinit { discard() }

  /// The number of bytes written so far.
  private(set) var size = 0

  /// Small writes gathered before they reach the file: a model is encoded as a few pieces per
  /// initializer, and a reconstructed layout at 8,000 convs has ~270,000 of them (one system
  /// call each cost a tenth of its write).
  private var pending: [UInt8] = []
  private static let pendingLimit = 1 << 20

  /// Appends `bytes`.
  /// - Throws: `ONNXError.writeFailed`.
  func write(_ bytes: UnsafeRawBufferPointer) throws {
    size += bytes.count
    if bytes.count < Self.pendingLimit / 16 {
      if pending.capacity == 0 { pending.reserveCapacity(Self.pendingLimit) }
      pending.append(contentsOf: bytes)
      if pending.count >= Self.pendingLimit { try flushPending() }
      return
    }
    try flushPending()
    try writeThrough(bytes)
  }

  private func flushPending() throws {
    guard !pending.isEmpty else { return }
    try pending.withUnsafeBytes { try writeThrough($0) }
    pending.removeAll(keepingCapacity: true)
  }

  private func writeThrough(_ bytes: UnsafeRawBufferPointer) throws {
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
    try flushPending()
    pending = []
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
    forget()
  }

  /// Moves the finished file to `destination`, which must not exist (a hard link, then the
  /// temporary name is removed): a file that appeared there meanwhile is never replaced.
  /// - Throws: `ONNXError.writeFailed`.
  func commitWithoutReplacing() throws {
    try finish()
    if link(path, destination) != 0 {
      let code = errno
      var info = stat()
      // A filesystem without hard links: rename, after checking the name is still free (the
      // window between the check and the rename is the only difference).
      let noLinks = code == EPERM || code == EOPNOTSUPP || code == ENOTSUP || code == EMLINK
      guard noLinks, lstat(destination, &info) != 0, errno == ENOENT else {
        let reason = code == EEXIST ? "it appeared while the output was written" : String(cString: strerror(code))
        throw ONNXError.writeFailed(path: destination, reason: reason)
      }
      try commit()
      return
    }
    unlink(path)
    forget()
  }

  /// Closes and removes the file unless it was committed.
  func discard() {
    if fd >= 0 { close(fd); fd = -1 }
    if !path.isEmpty { unlink(path) }
    forget()
  }

  private func forget() {
    path = ""
    TemporaryFiles.unregister(slot)
    slot = nil
  }

  /// Removes the temporary files of dead runs from `folder`: names with `marker` whose pid is
  /// not a live process (a killed run cannot clean up after itself). Only regular files are
  /// removed; errors are ignored (this is housekeeping, never part of a write).
  static func removeStale(in folder: String) {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
    let me = getpid()
    for name in names where name.hasPrefix(".") {
      guard let range = name.range(of: marker) else { continue }
      let rest = name[range.upperBound...].split(separator: "-", maxSplits: 1)
      guard rest.count == 2, let pid = Int32(rest[0]), pid > 0, pid != me else { continue }
      guard kill(pid, 0) != 0 && errno == ESRCH else { continue }
      let path = folder + "/" + name
      var info = stat()
      if lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG { unlink(path) }
    }
  }
}
