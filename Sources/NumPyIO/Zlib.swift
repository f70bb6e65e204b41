import CZlib

/// zlib's raw inflate and CRC-32, with the output bounded by the size the caller expects.
enum Zlib {
  /// Deflate cannot expand more than 1032:1 (a 258-byte match per ~2 bits); a member claiming
  /// more is lying about its size.
  static let maxRatio = 1032

  /// Inflates the raw deflate stream `input` into exactly `size` bytes.
  /// - Throws: `NumPyIOError.malformedZip` when the stream is corrupt, ends short of `size`, or
  ///   would produce more than `size` bytes (it stops there: a bomb never allocates past `size`).
  static func inflate(_ input: ArraySlice<UInt8>, size: Int, source: String, member: String) throws -> [UInt8] {
    // One spare byte beyond `size` detects a stream longer than declared.
    var output = [UInt8](repeating: 0, count: size + 1)
    var stream = z_stream()
    guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw NumPyIOError.malformedZip(source: source, detail: "zlib could not start inflating member '\(member)'")
    }
    defer { inflateEnd(&stream) }
    let chunk = 1 << 30  // avail_in and avail_out are 32-bit
    var consumed = 0
    var produced = 0
    try input.withUnsafeBufferPointer { inBuffer in
      try output.withUnsafeMutableBufferPointer { outBuffer in
        while true {
          let inCount = min(chunk, inBuffer.count - consumed)
          let outCount = min(chunk, outBuffer.count - produced)
          stream.next_in = inBuffer.baseAddress.map { UnsafeMutablePointer(mutating: $0 + consumed) }
          stream.avail_in = UInt32(inCount)
          stream.next_out = outBuffer.baseAddress! + produced
          stream.avail_out = UInt32(outCount)
          let status = CZlib.inflate(&stream, Z_NO_FLUSH)
          let usedIn = inCount - Int(stream.avail_in)
          let usedOut = outCount - Int(stream.avail_out)
          consumed += usedIn
          produced += usedOut
          if produced > size {
            throw NumPyIOError.malformedZip(source: source, detail: "member '\(member)' inflates past its declared \(size) bytes")
          }
          if status == Z_STREAM_END { return }
          if status == Z_OK && (usedIn > 0 || usedOut > 0) { continue }
          let reason = status == Z_OK || status == Z_BUF_ERROR ? "is truncated" : "is corrupt (zlib status \(status))"
          throw NumPyIOError.malformedZip(source: source, detail: "member '\(member)' \(reason)")
        }
      }
    }
    guard produced == size else {
      throw NumPyIOError.malformedZip(source: source, detail: "member '\(member)' inflates to \(produced) bytes, not the declared \(size)")
    }
    output.removeLast()
    return output
  }

  /// The CRC-32 (zip's) of `bytes`.
  static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    bytes.withUnsafeBufferPointer { buffer in
      var crc: UInt = 0
      var offset = 0
      repeat {
        let n = min(1 << 30, buffer.count - offset)
        crc = CZlib.crc32(crc, buffer.baseAddress.map { $0 + offset }, UInt32(n))
        offset += n
      } while offset < buffer.count
      return UInt32(crc)
    }
  }
}
