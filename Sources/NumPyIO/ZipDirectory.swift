/// The central directory of a zip archive (PKWARE APPNOTE 6.3.x): where each member's bytes
/// are, how they are compressed and what they decompress to. Only single-disk archives; zip64
/// records are read (numpy's `savez` forces zip64 local headers).
struct ZipDirectory {
  struct Entry {
    var name: String
    /// 0 stored, 8 deflated.
    var method: UInt16
    var crc32: UInt32
    var compressedSize: Int
    var uncompressedSize: Int
    /// Where the member's compressed bytes start (after its local header).
    var dataOffset: Int
  }

  var entries: [Entry] = []

  /// Parses the archive `bytes`; every offset and size is checked against the bytes present.
  /// - Throws: `NumPyIOError.malformedZip`, `.unsupportedZip`, `.tooLarge`.
  init(_ bytes: [UInt8], source: String, limits: NPZLimits) throws {
    let r = ByteReader(bytes: bytes, source: source)
    guard bytes.count >= 22 else { throw r.fail("\(bytes.count) bytes is shorter than a zip end record") }
    // The end record is the last 22 bytes plus a comment of at most 65 535 bytes.
    var end: Int?
    for p in stride(from: bytes.count - 22, through: max(0, bytes.count - 22 - 65_535), by: -1) {
      if try r.u32(p) == 0x0605_4B50, try p + 22 + Int(r.u16(p + 20)) == bytes.count {
        end = p
        break
      }
    }
    guard let end else { throw r.fail("no end-of-central-directory record") }
    guard try r.u16(end + 4) == 0, try r.u16(end + 6) == 0 else {
      throw NumPyIOError.unsupportedZip(source: source, detail: "a multi-disk archive")
    }
    var count = Int(try r.u16(end + 10))
    var directorySize = Int(try r.u32(end + 12))
    var directoryOffset = Int(try r.u32(end + 16))
    var directoryEnd = end
    if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
      // zip64: a locator just before the end record points at the zip64 end record.
      guard end >= 20, try r.u32(end - 20) == 0x0706_4B50 else { throw r.fail("zip64 sizes without a zip64 locator") }
      let record = try r.offset(r.u64(end - 12))
      guard record <= end - 20 - 56, try r.u32(record) == 0x0606_4B50 else { throw r.fail("the zip64 end record is missing") }
      count = try r.offset(r.u64(record + 32))
      directorySize = try r.offset(r.u64(record + 40))
      directoryOffset = try r.offset(r.u64(record + 48))
      directoryEnd = record
    }
    guard count <= limits.maxMembers else {
      throw NumPyIOError.tooLarge(source: source, detail: "\(count) members (the limit is \(limits.maxMembers))")
    }
    guard directoryOffset <= directoryEnd, directorySize <= directoryEnd - directoryOffset else {
      throw r.fail("the central directory lies outside the file")
    }
    guard count <= directorySize / 46 else { throw r.fail("\(count) members cannot fit a central directory of \(directorySize) bytes") }

    var p = directoryOffset
    let limit = directoryOffset + directorySize
    for _ in 0..<count {
      guard limit - p >= 46, try r.u32(p) == 0x0201_4B50 else { throw r.fail("a central directory entry is malformed") }
      let flags = try r.u16(p + 8)
      let method = try r.u16(p + 10)
      let crc = try r.u32(p + 16)
      var compressed = Int(try r.u32(p + 20))
      var uncompressed = Int(try r.u32(p + 24))
      let nameLength = Int(try r.u16(p + 28))
      let extraLength = Int(try r.u16(p + 30))
      let commentLength = Int(try r.u16(p + 32))
      var local = Int(try r.u32(p + 42))
      guard limit - p - 46 >= nameLength + extraLength + commentLength else { throw r.fail("a central directory entry overruns it") }
      let nameBytes = Array(bytes[(p + 46)..<(p + 46 + nameLength)])
      let name = String(decoding: nameBytes, as: UTF8.self)
      if flags & 1 != 0 { throw NumPyIOError.unsupportedZip(source: source, detail: "member '\(name)' is encrypted") }
      guard method == 0 || method == 8 else {
        throw NumPyIOError.unsupportedZip(source: source, detail: "member '\(name)' uses compression method \(method) (stored and deflated are read)")
      }
      // zip64 extra field: the 64-bit values of the fields set to 0xFFFFFFFF, in this order.
      var e = p + 46 + nameLength
      let extraEnd = e + extraLength
      while extraEnd - e >= 4 {
        let id = try r.u16(e), size = Int(try r.u16(e + 2))
        guard extraEnd - e - 4 >= size else { throw r.fail("member '\(name)' has a malformed extra field") }
        if id == 1 {
          var q = e + 4
          for field in [0, 1, 2] {
            let value = field == 0 ? uncompressed : field == 1 ? compressed : local
            guard value == 0xFFFF_FFFF else { continue }
            guard q + 8 <= e + 4 + size else { throw r.fail("member '\(name)' has a short zip64 field") }
            let raw = try r.u64(q)
            // An uncompressed size may exceed the file; it is checked against NPZLimits later.
            let wide = field == 0 ? Int(clamping: raw) : try r.offset(raw)
            if field == 0 { uncompressed = wide } else if field == 1 { compressed = wide } else { local = wide }
            q += 8
          }
        }
        e += 4 + size
      }
      if [uncompressed, compressed, local].contains(0xFFFF_FFFF) {
        throw r.fail("member '\(name)' lacks the zip64 sizes it announces")
      }
      // The local header repeats the name; its own sizes may be zip64 placeholders, so the
      // central directory's are the ones used.
      guard local <= directoryOffset, directoryOffset - local >= 30, try r.u32(local) == 0x0403_4B50 else {
        throw r.fail("member '\(name)' has no local header where the directory says")
      }
      let localName = Int(try r.u16(local + 26)), localExtra = Int(try r.u16(local + 28))
      let data = local + 30 + localName + localExtra
      guard data <= directoryOffset, Array(bytes[(local + 30)..<(local + 30 + localName)]) == nameBytes else {
        throw r.fail("member '\(name)': the local header does not match the directory")
      }
      guard compressed <= directoryOffset - data else {
        throw r.fail("member '\(name)' claims \(compressed) bytes, past the end of the member data")
      }
      entries.append(Entry(name: name, method: method, crc32: crc, compressedSize: compressed, uncompressedSize: uncompressed, dataOffset: data))
      p += 46 + nameLength + extraLength + commentLength
    }
  }
}

/// Bounds-checked little-endian reads from a byte array.
struct ByteReader {
  let bytes: [UInt8]
  let source: String

  func fail(_ detail: String) -> NumPyIOError { .malformedZip(source: source, detail: detail) }

  private func check(_ p: Int, _ n: Int) throws {
    guard p >= 0, p <= bytes.count - n else { throw fail("a record at byte \(p) runs past the end of the file") }
  }

  func u16(_ p: Int) throws -> UInt16 {
    try check(p, 2)
    return UInt16(bytes[p]) | UInt16(bytes[p + 1]) << 8
  }

  func u32(_ p: Int) throws -> UInt32 {
    try check(p, 4)
    return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[p + $1]) << (8 * UInt32($1)) }
  }

  func u64(_ p: Int) throws -> UInt64 {
    try check(p, 8)
    return (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[p + $1]) << (8 * UInt64($1)) }
  }

  /// A 64-bit size or offset as Int, refused when no file could hold it.
  func offset(_ value: UInt64) throws -> Int {
    guard value <= UInt64(bytes.count) else { throw fail("a zip64 size or offset (\(value)) exceeds the file") }
    return Int(value)
  }
}
