import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A read-only, private memory mapping of a whole file, unmapped when released.
///
/// Mapping instead of reading lets the parser copy each tensor straight out of the page cache,
/// and lets `discard(_:)` hand pages already parsed back to the kernel, so the model is never
/// held twice in memory.
final class MappedFile {
  /// The file's bytes; valid while `self` is alive.
  let bytes: UnsafeRawBufferPointer
  /// The file's identity (device and inode).
  let id: ExternalDataRegistry.FileID?
  /// The granule of `discard(_:)`.
  static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

  /// Maps the file at `path`.
  /// - Throws: `ONNXError.fileNotFound`, `.emptyFile`, `.readFailed` (folder, permissions, I/O).
  init(path: String) throws {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever; it is
    // refused below as not a regular file.
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    if fd < 0 {
      let code = errno
      if code == ENOENT || code == ENOTDIR { throw ONNXError.fileNotFound(path: path) }
      throw ONNXError.readFailed(path: path, reason: String(cString: strerror(code)))
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      throw ONNXError.readFailed(path: path, reason: String(cString: strerror(errno)))
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      throw ONNXError.readFailed(path: path, reason: "it is not a regular file")
    }
    id = ExternalDataRegistry.FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    let size = Int(info.st_size)
    if size == 0 { throw ONNXError.emptyFile(path: path) }
    guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
      throw ONNXError.readFailed(path: path, reason: String(cString: strerror(errno)))
    }
    bytes = UnsafeRawBufferPointer(start: base, count: size)
  }

  deinit {
    munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
  }

  /// Tells the kernel the whole pages inside `range` will not be read again, so they stop
  /// counting towards the process's resident memory. Reading them later still works (the
  /// kernel maps them in again from the file).
  func discard(_ range: Range<Int>) {
    let page = MappedFile.pageSize
    let start = (range.lowerBound + page - 1) / page * page
    let end = range.upperBound / page * page
    guard end > start, let base = bytes.baseAddress else { return }
    #if canImport(Darwin)
      _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_FREE)
    #else
      _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    #endif
  }
}
