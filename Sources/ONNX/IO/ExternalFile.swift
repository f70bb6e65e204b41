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
///
/// Opening follows onnx's rules, and is stricter where onnx checks by name: the location is
/// compared component by component as bytes (never as Swift `Character`s, whose grapheme
/// clusters can glue a combining mark to a `/` and hide a `..`), and it is opened one component
/// at a time below the model's folder with `O_NOFOLLOW`, so no symlink anywhere in it is
/// followed and the file reached is inside the folder by construction (no check-then-open race).
/// The last component is opened with `O_NONBLOCK` so a FIFO cannot block, and must be a regular
/// file.
final class ExternalFile {
  /// The file's size in bytes.
  let size: Int
  /// The file's identity (device and inode).
  let id: ExternalDataRegistry.FileID?
  private let fd: Int32
  private let path: String

  /// Opens `location`, relative to the model's folder `folder`, the external data of tensor `tensor`.
  /// - Throws: `ONNXError.externalDataInvalid` (absolute, `..`, NUL byte, symlink, not a regular
  ///   file), `.externalDataMissing`, `.readFailed`.
  init(folder: String, location: String, tensor: String) throws {
    path = folder + "/" + location
    let invalid = { (reason: String) in ONNXError.externalDataInvalid(tensor: tensor, reason: "location '\(location)' \(reason)") }
    let bytes = Array(location.utf8)
    if bytes.isEmpty { throw ONNXError.externalDataInvalid(tensor: tensor, reason: "it has no 'location' entry") }
    if bytes.contains(0) { throw invalid("contains a NUL byte") }
    if bytes.first == UInt8(ascii: "/") { throw invalid("is an absolute path") }
    let components = bytes.split(separator: UInt8(ascii: "/")).map(Array.init).filter { $0 != [UInt8(ascii: ".")] }
    if components.contains([UInt8(ascii: "."), UInt8(ascii: ".")]) { throw invalid("leaves the model's folder") }
    guard let last = components.last else { throw invalid("names a folder, not a file") }

    var folderFD = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if folderFD < 0 { throw ONNXError.readFailed(path: folder, reason: String(cString: strerror(errno))) }
    defer { close(folderFD) }
    for component in components.dropLast() {
      let next = Self.openAt(folderFD, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      if next < 0 { throw Self.openError(folderFD, component, errno: errno, location: location, tensor: tensor, path: path) }
      close(folderFD)
      folderFD = next
    }
    fd = Self.openAt(folderFD, last, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
    if fd < 0 { throw Self.openError(folderFD, last, errno: errno, location: location, tensor: tensor, path: path) }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
      close(fd)
      throw invalid("is not a regular file")
    }
    size = Int(info.st_size)
    id = ExternalDataRegistry.FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
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

  private static func openAt(_ folder: Int32, _ name: [UInt8], _ flags: Int32) -> Int32 {
    (name + [0]).withUnsafeBufferPointer { buffer in
      buffer.withMemoryRebound(to: CChar.self) { openat(folder, $0.baseAddress!, flags) }
    }
  }

  /// The error for a failed `openat` of `name` in `folder`: a symlink is refused by name, a
  /// missing component is missing data, anything else cannot be read.
  private static func openError(
    _ folder: Int32, _ name: [UInt8], errno code: Int32, location: String, tensor: String, path: String
  ) -> ONNXError {
    var info = stat()
    let found = (name + [0]).withUnsafeBufferPointer { buffer in
      buffer.withMemoryRebound(to: CChar.self) { fstatat(folder, $0.baseAddress!, &info, AT_SYMLINK_NOFOLLOW) }
    }
    if found == 0 && (info.st_mode & S_IFMT) == S_IFLNK {
      let link = String(decoding: name, as: UTF8.self)
      return .externalDataInvalid(tensor: tensor, reason: "location '\(location)' goes through the symlink '\(link)'")
    }
    if found == 0 && code == ENOTDIR {
      return .externalDataInvalid(tensor: tensor, reason: "location '\(location)' goes through a file that is not a folder")
    }
    if code == ENOENT { return .externalDataMissing(tensor: tensor, path: path) }
    return .readFailed(path: path, reason: String(cString: strerror(code)))
  }
}
