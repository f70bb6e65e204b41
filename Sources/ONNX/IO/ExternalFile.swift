import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// An open external-data file, read with `pread` (no mapping: each tensor is copied once, straight
/// into the `Data` that becomes its `raw_data`).
final class ExternalFile {
  /// The file's size in bytes.
  let size: Int
  /// The file's identity (device and inode).
  let id: ExternalDataRegistry.FileID?
  private let fd: Int32
  private let path: String

  /// Opens `path`, the external data of tensor `tensor`.
  /// - Throws: `ONNXError.externalDataMissing`, `.readFailed`.
  init(path: String, tensor: String) throws {
    self.path = path
    fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
      let code = errno
      if code == ENOENT || code == ENOTDIR { throw ONNXError.externalDataMissing(tensor: tensor, path: path) }
      throw ONNXError.readFailed(path: path, reason: String(cString: strerror(code)))
    }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
      close(fd)
      throw ONNXError.readFailed(path: path, reason: "it is not a regular file")
    }
    size = Int(info.st_size)
    id = ExternalDataRegistry.id(of: fd)
  }

  deinit { close(fd) }

  /// The `count` bytes at `offset` (the caller has checked they lie inside the file).
  /// - Throws: `ONNXError.readFailed`.
  func read(offset: Int, count: Int) throws -> Data {
    var data = Data(count: count)
    var done = 0
    try data.withUnsafeMutableBytes { buffer in
      while done < count {
        let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
        if n < 0 && errno == EINTR { continue }
        if n <= 0 {
          throw ONNXError.readFailed(path: path, reason: n < 0 ? String(cString: strerror(errno)) : "unexpected end of file")
        }
        done += n
      }
    }
    return data
  }
}
