/// Everything that stops a `.npy` or `.npz` file from being read or written.
///
/// `source` names the file, and for a member of an archive `archive.npz:name.npy`. Each
/// `description` is one sentence.
public enum NumPyIOError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The file `path` does not exist.
  case fileNotFound(path: String)
  /// The file `path` exists but cannot be read (permissions, a folder, a FIFO, an I/O error).
  case readFailed(path: String, reason: String)
  /// The file `path` cannot be written.
  case writeFailed(path: String, reason: String)
  /// `source` is not a .npy array: `detail` (bad magic, truncated or malformed header).
  case malformedNPY(source: String, detail: String)
  /// `source` is a .npy of format version `major.minor`; versions 1.0, 2.0 and 3.0 are read.
  case unsupportedVersion(source: String, major: Int, minor: Int)
  /// `source` has dtype `descr`, which is not one of `NPYDType`.
  case unsupportedDType(source: String, descr: String)
  /// `source` is stored in big-endian byte order (`descr`).
  case bigEndian(source: String, descr: String)
  /// `source` is stored in Fortran (column-major) order.
  case fortranOrder(source: String)
  /// `source` holds `actual` data bytes where its dtype and shape need `expected`.
  case dataSize(source: String, expected: Int, actual: Int)
  /// `source` declares more than a limit allows: `detail`.
  case tooLarge(source: String, detail: String)
  /// `source` is not a readable zip archive: `detail`.
  case malformedZip(source: String, detail: String)
  /// `source` uses a zip feature this reader does not implement: `detail`.
  case unsupportedZip(source: String, detail: String)
  /// Member `member` of `source` is not a `.npy` array (numpy writes only `<name>.npy`).
  case notAnArray(source: String, member: String)
  /// Two arrays in `source` share the name `name`.
  case duplicateName(source: String, name: String)
  /// An array to write is invalid: `detail` (a name, or bytes that do not fit the shape).
  case invalidArray(detail: String)

  public var description: String {
    switch self {
    case .fileNotFound(let path): return "'\(path)' does not exist."
    case .readFailed(let path, let reason): return "cannot read '\(path)': \(reason)."
    case .writeFailed(let path, let reason): return "cannot write '\(path)': \(reason)."
    case .malformedNPY(let source, let detail): return "'\(source)' is not a valid .npy array: \(detail)."
    case .unsupportedVersion(let source, let major, let minor):
      return "'\(source)' is .npy format version \(major).\(minor); versions 1.0, 2.0 and 3.0 are supported."
    case .unsupportedDType(let source, let descr):
      return "'\(source)' has dtype '\(descr)'; supported: float16/32/64, int8/32/64, uint8 and bool, little-endian."
    case .bigEndian(let source, let descr):
      return "'\(source)' is big-endian (dtype '\(descr)'); save it little-endian (e.g. arr.astype('<f4'))."
    case .fortranOrder(let source):
      return "'\(source)' is in Fortran order; save a C-ordered array (np.ascontiguousarray)."
    case .dataSize(let source, let expected, let actual):
      return "'\(source)' holds \(actual) data bytes; its dtype and shape need \(expected)."
    case .tooLarge(let source, let detail): return "'\(source)' is too large: \(detail)."
    case .malformedZip(let source, let detail): return "'\(source)' is not a valid .npz (zip) archive: \(detail)."
    case .unsupportedZip(let source, let detail): return "'\(source)' uses an unsupported zip feature: \(detail)."
    case .notAnArray(let source, let member): return "'\(source)' holds '\(member)', which is not a .npy array."
    case .duplicateName(let source, let name): return "'\(source)' holds two arrays named '\(name)'."
    case .invalidArray(let detail): return "invalid array: \(detail)."
    }
  }
}
