/// Reads and writes numpy's .npz archives: a zip whose members are `<name>.npy` files
/// (`np.savez` stores them, `np.savez_compressed` deflates them).
///
/// Reading bounds everything by the file and by `NPZLimits` before allocating; writing stores
/// members uncompressed with a fixed timestamp (1980-01-01 00:00), so the same arrays always give
/// the same bytes.
public enum NPZ {
  /// One named array.
  public typealias Entry = (name: String, array: NPYArray)

  /// Reads the .npz file at `path`.
  /// - Returns: the arrays in archive order, named without the `.npy` suffix.
  /// - Throws: `NumPyIOError` (missing or unreadable file, malformed zip or .npy member, an
  ///   unsupported dtype or zip feature, a CRC mismatch, a size over `limits`).
  public static func read(path: String, limits: NPZLimits = NPZLimits()) throws -> [Entry] {
    // The file itself can be no larger than the arrays it may hold, plus zip overhead.
    let (cap, overflow) = limits.maxTotalBytes.addingReportingOverflow(1 << 24)
    return try decode(FileBytes.read(path: path, limit: overflow ? Int.max : cap), source: path, limits: limits)
  }

  /// Decodes the bytes of a .npz file; `source` names it in errors.
  /// - Throws: `NumPyIOError`.
  public static func decode(_ bytes: [UInt8], source: String, limits: NPZLimits = NPZLimits()) throws -> [Entry] {
    let directory = try ZipDirectory(bytes, source: source, limits: limits)
    var total = 0
    var seen = Set<String>()
    var result: [Entry] = []
    for entry in directory.entries {
      let memberSource = source + ":" + entry.name
      guard entry.name.hasSuffix(".npy") else { throw NumPyIOError.notAnArray(source: source, member: entry.name) }
      let name = String(entry.name.dropLast(4))
      guard seen.insert(name).inserted else { throw NumPyIOError.duplicateName(source: source, name: name) }
      guard entry.uncompressedSize <= limits.maxMemberBytes else {
        throw NumPyIOError.tooLarge(
          source: memberSource, detail: "\(entry.uncompressedSize) bytes uncompressed (the limit is \(limits.maxMemberBytes))")
      }
      total += entry.uncompressedSize  // both ≤ limits, so no overflow
      guard total <= limits.maxTotalBytes else {
        throw NumPyIOError.tooLarge(source: source, detail: "over \(limits.maxTotalBytes) bytes of arrays (the limit)")
      }
      let compressed = bytes[entry.dataOffset..<(entry.dataOffset + entry.compressedSize)]
      let member: [UInt8]
      if entry.method == 0 {
        guard entry.compressedSize == entry.uncompressedSize else {
          throw NumPyIOError.malformedZip(source: source, detail: "stored member '\(entry.name)' has different stored and real sizes")
        }
        member = Array(compressed)
      } else {
        guard entry.uncompressedSize / Zlib.maxRatio <= entry.compressedSize else {
          throw NumPyIOError.malformedZip(
            source: source,
            detail: "member '\(entry.name)' claims \(entry.uncompressedSize) bytes from \(entry.compressedSize) deflated bytes, more than deflate can produce")
        }
        member = try Zlib.inflate(compressed, size: entry.uncompressedSize, source: source, member: entry.name)
      }
      guard Zlib.crc32(member[...]) == entry.crc32 else {
        throw NumPyIOError.malformedZip(source: source, detail: "member '\(entry.name)' fails its CRC-32 check")
      }
      result.append((name, try NPY.decode(member, source: memberSource)))
    }
    return result
  }

  /// The bytes of a .npz holding `arrays` (what `np.savez` would write, up to zip metadata).
  /// - Throws: `NumPyIOError.invalidArray` for an empty or duplicate name, a name with a NUL,
  ///   or an archive past 4 GiB (zip64 is not written).
  public static func encode(_ arrays: [Entry]) throws -> [UInt8] {
    var out: [UInt8] = []
    var central: [UInt8] = []
    var seen = Set<String>()
    for (name, array) in arrays {
      guard !name.isEmpty, !name.utf8.contains(0) else { throw NumPyIOError.invalidArray(detail: "array name '\(name)' is empty or holds a NUL") }
      guard seen.insert(name).inserted else { throw NumPyIOError.invalidArray(detail: "two arrays are named '\(name)'") }
      let memberName = Array((name + ".npy").utf8)
      let data = NPY.encode(array)
      guard memberName.count <= 0xFFFF, data.count < 0xFFFF_FFFF, out.count < 0xFFFF_FFFF - 30 - memberName.count - data.count else {
        throw NumPyIOError.invalidArray(detail: "the archive would exceed 4 GiB, which needs zip64 (not written)")
      }
      let crc = Zlib.crc32(data[...])
      // Bit 11: the name is UTF-8. Version 2.0 (deflate-era readers); method 0 (stored).
      let flags: UInt16 = memberName.allSatisfy { $0 < 0x80 } ? 0 : 0x0800
      let offset = out.count
      var fields = ZipFields()
      fields.u32(0x0403_4B50); fields.u16(20); fields.u16(flags); fields.u16(0)
      fields.u16(ZipFields.dosTime); fields.u16(ZipFields.dosDate)
      fields.u32(crc); fields.u32(UInt32(data.count)); fields.u32(UInt32(data.count))
      fields.u16(UInt16(memberName.count)); fields.u16(0)
      out += fields.bytes + memberName + data

      var entry = ZipFields()
      entry.u32(0x0201_4B50); entry.u16(20); entry.u16(20); entry.u16(flags); entry.u16(0)
      entry.u16(ZipFields.dosTime); entry.u16(ZipFields.dosDate)
      entry.u32(crc); entry.u32(UInt32(data.count)); entry.u32(UInt32(data.count))
      entry.u16(UInt16(memberName.count)); entry.u16(0); entry.u16(0)
      entry.u16(0); entry.u16(0); entry.u32(0); entry.u32(UInt32(offset))
      central += entry.bytes + memberName
    }
    guard arrays.count < 0xFFFF, out.count + central.count < 0xFFFF_FFFF else {
      throw NumPyIOError.invalidArray(detail: "the archive would exceed 4 GiB or 65 534 arrays, which needs zip64 (not written)")
    }
    var end = ZipFields()
    end.u32(0x0605_4B50); end.u16(0); end.u16(0)
    end.u16(UInt16(arrays.count)); end.u16(UInt16(arrays.count))
    end.u32(UInt32(central.count)); end.u32(UInt32(out.count)); end.u16(0)
    return out + central + end.bytes
  }

  /// Writes `arrays` to `path` as a .npz (replacing it atomically: a temporary file, then a rename).
  /// - Throws: `NumPyIOError.invalidArray`, `.writeFailed`.
  public static func write(_ arrays: [Entry], to path: String) throws {
    try FileBytes.write(encode(arrays), to: path)
  }
}

/// Little-endian zip record fields.
struct ZipFields {
  /// 00:00:00 and 1980-01-01 in MS-DOS format: the fixed timestamp of every member we write.
  static let dosTime: UInt16 = 0
  static let dosDate: UInt16 = (0 << 9) | (1 << 5) | 1

  var bytes: [UInt8] = []
  mutating func u16(_ v: UInt16) { bytes += [UInt8(v & 0xFF), UInt8(v >> 8)] }
  mutating func u32(_ v: UInt32) { for k in 0..<4 { bytes.append(UInt8((v >> (8 * UInt32(k))) & 0xFF)) } }
}
