/// Reads and writes single arrays in numpy's .npy format
/// (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
///
/// A file is the magic `\x93NUMPY`, a version byte pair, the header length (2 bytes in v1, 4 in
/// v2/v3), the header dict (latin-1 in v1/v2, UTF-8 in v3), then the raw elements.
public enum NPY {
  /// The largest header accepted: numpy itself refuses headers over 10 000 bytes by default;
  /// 1 MiB leaves room and still bounds what a hostile header can cost.
  static let maxHeaderBytes = 1 << 20

  /// Reads the .npy file at `path`.
  /// - Throws: `NumPyIOError` (file missing or unreadable, not a .npy, unsupported dtype/order,
  ///   data size not matching the header).
  public static func read(path: String) throws -> NPYArray {
    try decode(FileBytes.read(path: path, limit: Int.max), source: path)
  }

  /// Decodes the bytes of a .npy file; `source` names it in errors.
  /// - Throws: `NumPyIOError`.
  public static func decode(_ bytes: [UInt8], source: String) throws -> NPYArray {
    let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
      throw NumPyIOError.malformedNPY(source: source, detail: "it does not start with the .npy magic")
    }
    let (major, minor) = (Int(bytes[6]), Int(bytes[7]))
    guard (1...3).contains(major), minor == 0 else { throw NumPyIOError.unsupportedVersion(source: source, major: major, minor: minor) }
    let lengthBytes = major == 1 ? 2 : 4
    guard bytes.count >= 8 + lengthBytes else {
      throw NumPyIOError.malformedNPY(source: source, detail: "truncated before the header length")
    }
    var headerLength = 0
    for k in (0..<lengthBytes).reversed() { headerLength = headerLength << 8 | Int(bytes[8 + k]) }
    let start = 8 + lengthBytes
    guard headerLength <= maxHeaderBytes else {
      throw NumPyIOError.tooLarge(source: source, detail: "a header of \(headerLength) bytes (the limit is \(maxHeaderBytes))")
    }
    guard bytes.count - start >= headerLength else {
      throw NumPyIOError.malformedNPY(
        source: source, detail: "the header claims \(headerLength) bytes but only \(bytes.count - start) follow")
    }
    let headerBytes = bytes[start..<(start + headerLength)]
    let text: String
    if major == 3 {
      text = String(decoding: headerBytes, as: UTF8.self)
      guard text.utf8.elementsEqual(headerBytes) else {  // decoding replaced an invalid sequence
        throw NumPyIOError.malformedNPY(source: source, detail: "the header is not UTF-8")
      }
    } else {
      text = String(String.UnicodeScalarView(headerBytes.map { Unicode.Scalar($0) }))  // latin-1
    }
    let header = try NPYHeader.parse(text, source: source)
    let dtype: NPYDType
    switch NPYDType.parse(header.descr) {
    case .dtype(let d): dtype = d
    case .bigEndian: throw NumPyIOError.bigEndian(source: source, descr: header.descr)
    case .unsupported: throw NumPyIOError.unsupportedDType(source: source, descr: header.descr)
    }
    if header.fortranOrder && header.shape.count > 1 { throw NumPyIOError.fortranOrder(source: source) }
    let present = bytes.count - start - headerLength
    guard let count = NPYArray.elementCount(header.shape),
      case (let needed, false) = count.multipliedReportingOverflow(by: dtype.itemSize)
    else {
      throw NumPyIOError.tooLarge(source: source, detail: "shape \(header.shape) overflows the element count")
    }
    guard needed == present else { throw NumPyIOError.dataSize(source: source, expected: needed, actual: present) }
    return NPYArray(checked: dtype, shape: header.shape, data: Array(bytes[(start + headerLength)...]))
  }

  /// The bytes of `array` as a version 1.0 .npy file (what `np.save` writes).
  public static func encode(_ array: NPYArray) -> [UInt8] {
    let header = NPYHeader(descr: array.dtype.descr, fortranOrder: false, shape: array.shape).text
    let length = header.utf8.count  // ≤ 64 axes of ≤ 19 digits: always under 65 536
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)]
    bytes.reserveCapacity(bytes.count + length + array.data.count)
    bytes += Array(header.utf8)
    bytes += array.data
    return bytes
  }

  /// Writes `array` to `path` as a .npy file (replacing it atomically: a temporary file, then a
  /// rename).
  /// - Throws: `NumPyIOError.writeFailed`.
  public static func write(_ array: NPYArray, to path: String) throws {
    try FileBytes.write(encode(array), to: path)
  }
}
