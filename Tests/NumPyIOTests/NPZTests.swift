import NumPyIO
import XCTest

/// .npz archives built by NPZ.encode, and damaged copies of them.
final class NPZTests: XCTestCase {
  let arrays: [NPZ.Entry] = [
    ("z_last_alphabetically", NPYArray(shape: [2, 2], floats: [1, 2, 3, 4])),
    ("ids", NPYArray(shape: [3], int64s: [5, 6, 7])),
    ("mask", NPYArray(shape: [1], bools: [false])),
    ("ünïcode", NPYArray(shape: [], floats: [0.25])),
  ]

  func testRoundTripKeepsOrderAndIsDeterministic() throws {
    let bytes = try NPZ.encode(arrays)
    XCTAssertEqual(try NPZ.encode(arrays), bytes, "same arrays, same bytes")
    let back = try NPZ.decode(bytes, source: "a.npz")
    XCTAssertEqual(back.map(\.name), arrays.map(\.name))
    XCTAssertEqual(back.map(\.array), arrays.map(\.array))
    XCTAssertEqual(try NPZ.decode(try NPZ.encode([]), source: "e.npz").count, 0)
  }

  func testWriteAndReadFile() throws {
    let folder = try makeTemporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.path + "/x.npz"
    try NPZ.write(arrays, to: path)
    XCTAssertEqual(try NPZ.read(path: path).map(\.array), arrays.map(\.array))
  }

  func testEncodeRefusesBadNames() {
    XCTAssertThrowsError(try NPZ.encode([("a", arrays[1].array), ("a", arrays[2].array)])) { error in
      XCTAssertEqual(error as? NumPyIOError, .invalidArray(detail: "two arrays are named 'a'"))
    }
    XCTAssertThrowsError(try NPZ.encode([("", arrays[1].array)]))
  }

  /// Offsets into the archive `NPZ.encode([("a", int64 [3])])`: local header 0-29, name 30-34
  /// ("a.npy"), .npy 35-(35+128+24), then the central directory and the end record.
  func testDamagedArchives() throws {
    let good = try NPZ.encode([("a", NPYArray(shape: [3], int64s: [1, 2, 3]))])
    let npyEnd = 35 + 128 + 24
    var crc = good
    crc[npyEnd - 1] ^= 0xFF  // a data byte
    var method = good
    method[npyEnd + 10] = 12  // central directory: bzip2
    var encrypted = good
    encrypted[npyEnd + 8] |= 1
    var offset = good
    offset[npyEnd + 42] = 7  // local header offset
    var sizes = good
    sizes[npyEnd + 24] &+= 1  // uncompressed size 1 byte larger than the stored one
    let cases: [(String, [UInt8], NumPyIOError)] = [
      ("empty", [], .malformedZip(source: "z", detail: "0 bytes is shorter than a zip end record")),
      ("truncated", Array(good.dropLast(3)), .malformedZip(source: "z", detail: "no end-of-central-directory record")),
      ("crc", crc, .malformedZip(source: "z", detail: "member 'a.npy' fails its CRC-32 check")),
      ("method", method, .unsupportedZip(source: "z", detail: "member 'a.npy' uses compression method 12 (stored and deflated are read)")),
      ("encrypted", encrypted, .unsupportedZip(source: "z", detail: "member 'a.npy' is encrypted")),
      ("offset", offset, .malformedZip(source: "z", detail: "member 'a.npy' has no local header where the directory says")),
      ("sizes", sizes, .malformedZip(source: "z", detail: "stored member 'a.npy' has different stored and real sizes")),
    ]
    for (label, bytes, expected) in cases {
      XCTAssertThrowsError(try NPZ.decode(bytes, source: "z"), label) { error in
        XCTAssertEqual(error as? NumPyIOError, expected, label)
      }
    }
  }

  func testLimitsApplyBeforeReading() throws {
    let bytes = try NPZ.encode(arrays)
    XCTAssertThrowsError(try NPZ.decode(bytes, source: "z", limits: NPZLimits(maxMemberBytes: 100))) { error in
      XCTAssertEqual(error as? NumPyIOError, .tooLarge(source: "z:z_last_alphabetically.npy", detail: "144 bytes uncompressed (the limit is 100)"))
    }
    XCTAssertThrowsError(try NPZ.decode(bytes, source: "z", limits: NPZLimits(maxTotalBytes: 300))) { error in
      XCTAssertEqual(error as? NumPyIOError, .tooLarge(source: "z", detail: "over 300 bytes of arrays (the limit)"))
    }
    XCTAssertThrowsError(try NPZ.decode(bytes, source: "z", limits: NPZLimits(maxMembers: 3))) { error in
      XCTAssertEqual(error as? NumPyIOError, .tooLarge(source: "z", detail: "4 members (the limit is 3)"))
    }
  }
}
