/// One top-level field of a serialized protobuf message, as found by `WireField.fields(in:)`.
///
/// Used to split a model into its parts (the graph, each initializer) so they can be decoded and
/// encoded one at a time; everything else is left to swift-protobuf.
struct WireField {
  /// The field number.
  let number: Int
  /// The wire type: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
  let wireType: Int
  /// The whole field, tag included, as offsets into the message.
  let range: Range<Int>
  /// The payload of a length-delimited field (without tag and length), else the value bytes.
  let payload: Range<Int>

  /// The top-level fields of the message in `bytes`, in order.
  /// - Returns: `nil` when the bytes are not a well-formed sequence of fields (a group, a bad
  ///   varint, a field running past the end); callers then let swift-protobuf report the problem.
  static func fields(in bytes: UnsafeRawBufferPointer) -> [WireField]? {
    var fields: [WireField] = []
    var position = 0
    while position < bytes.count {
      let start = position
      guard let tag = varint(in: bytes, at: &position), tag >> 3 > 0 else { return nil }
      let wireType = Int(tag & 7)
      let payloadStart: Int
      switch wireType {
      case 0:
        payloadStart = position
        guard varint(in: bytes, at: &position) != nil else { return nil }
      case 1:
        payloadStart = position
        position += 8
      case 5:
        payloadStart = position
        position += 4
      case 2:
        guard let length = varint(in: bytes, at: &position), length <= UInt64(bytes.count - position) else { return nil }
        payloadStart = position
        position += Int(length)
      default:
        return nil
      }
      guard position <= bytes.count, tag >> 3 <= UInt64(Int32.max) else { return nil }
      fields.append(WireField(number: Int(tag >> 3), wireType: wireType, range: start..<position, payload: payloadStart..<position))
    }
    return fields
  }

  /// The first length-delimited field numbered `number` with an empty payload.
  static func emptyField(_ number: Int, in bytes: UnsafeRawBufferPointer) -> WireField? {
    fields(in: bytes)?.first { $0.number == number && $0.wireType == 2 && $0.payload.isEmpty }
  }

  /// The tag and length prefix of a length-delimited field.
  static func header(number: Int, length: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    appendVarint(UInt64(number << 3 | 2), to: &bytes)
    appendVarint(UInt64(length), to: &bytes)
    return bytes
  }

  /// The bytes of a length-delimited field of a small number (1–15: a one-byte tag) holding
  /// `length` bytes: tag, length prefix and payload.
  static func fieldSize(length: Int) -> Int {
    var prefix = 1
    var v = UInt64(length) >> 7
    while v != 0 { prefix += 1; v >>= 7 }
    return 1 + prefix + length
  }

  private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
    var v = value
    while v >= 0x80 {
      bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
      v >>= 7
    }
    bytes.append(UInt8(v))
  }

  private static func varint(in bytes: UnsafeRawBufferPointer, at position: inout Int) -> UInt64? {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    while position < bytes.count && shift < 64 {
      let byte = bytes[position]
      position += 1
      result |= UInt64(byte & 0x7F) << shift
      if byte < 0x80 { return result }
      shift += 7
    }
    return nil
  }
}
