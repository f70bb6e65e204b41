import NumPyIO
import XCTest

/// .npy reading and writing: every dtype, every format version, and every refusal.
final class NPYTests: XCTestCase {
  func testWritableDtypesRoundTrip() throws {
    let arrays = [
      NPYArray(shape: [2, 3], floats: [1, -2.5, .infinity, 0, -0.0, 3e-38]),
      NPYArray(shape: [4], int64s: [.min, -1, 0, .max]),
      NPYArray(shape: [], bools: [true]),
      NPYArray(shape: [0, 5], floats: []),
    ]
    for array in arrays {
      let bytes = NPY.encode(array)
      XCTAssertEqual(try NPY.decode(bytes, source: "t.npy"), array)
      // numpy aligns the data to 64 bytes; the header length is bytes 8-9.
      XCTAssertEqual((10 + Int(bytes[8]) + Int(bytes[9]) << 8) % 64, 0)
      XCTAssertEqual(bytes.count - array.data.count, 10 + Int(bytes[8]) + Int(bytes[9]) << 8)
    }
    XCTAssertEqual(NPYArray(shape: [2], bools: [true, false]).boolValues(), [true, false])
    XCTAssertEqual(NPYArray(shape: [2], int64s: [7, -7]).integerValues(), [7, -7])
    XCTAssertNil(NPYArray(shape: [2], int64s: [7, -7]).floatValues())
  }

  func testHeaderMatchesNumpyText() throws {
    let bytes = NPY.encode(NPYArray(shape: [3], floats: [1, 2, 3]))
    let header = String(decoding: bytes[10..<(bytes.count - 12)], as: UTF8.self)
    XCTAssertEqual(header.trimmingCharacters(in: .whitespacesAndNewlines), "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }")
  }

  func testReadsEveryDtypeAndVersion() throws {
    // float16: 1.0 = 0x3C00, -2.0 = 0xC000, smallest subnormal 0x0001 = 2^-24, inf 0x7C00.
    let half = try NPY.decode(
      npyBytes(header: "{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }", data: littleEndianBytes([UInt16(0x3C00), 0xC000, 0x0001, 0x7C00])),
      source: "h")
    XCTAssertEqual(half.floatValues(), [1, -2, 0x1p-24, .infinity])
    let double = try NPY.decode(
      npyBytes(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data: littleEndianBytes([(0.5).bitPattern, (-8.0).bitPattern]), major: 2),
      source: "d")
    XCTAssertEqual(double.floatValues(), [0.5, -8])
    let int8 = try NPY.decode(npyBytes(header: "{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }", data: [0xFF, 0x7F], major: 3), source: "b")
    XCTAssertEqual(int8.integerValues(), [-1, 127])
    let uint8 = try NPY.decode(npyBytes(header: "{'shape': (2,), 'fortran_order': False, 'descr': '|u1'}", data: [0xFF, 0x01]), source: "u")
    XCTAssertEqual(uint8.integerValues(), [255, 1])
    let int32 = try NPY.decode(
      npyBytes(header: "{'descr': '<i4', 'fortran_order': False, 'shape': (1L, 2L), }", data: littleEndianBytes([Int32(-5), Int32.max])), source: "i")
    XCTAssertEqual(int32.shape, [1, 2])
    XCTAssertEqual(int32.integerValues(), [-5, Int64(Int32.max)])
    let bools = try NPY.decode(npyBytes(header: "{'descr': '|b1', 'fortran_order': True, 'shape': (3,), }", data: [1, 0, 2]), source: "o")
    XCTAssertEqual(bools.boolValues(), [true, false, true], "1-D Fortran order is C order")
  }

  /// Each hostile or unsupported file and the error it must give (and nothing else).
  func testRefusals() throws {
    let f4 = littleEndianBytes([UInt32(0), 0])
    let cases: [(String, [UInt8], NumPyIOError)] = [
      ("fortran", npyBytes(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }", data: f4), .fortranOrder(source: "x")),
      ("big-endian", npyBytes(header: "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data: f4), .bigEndian(source: "x", descr: ">f4")),
      ("object", npyBytes(header: "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0, 0, 0, 0, 0]),
       .unsupportedDType(source: "x", descr: "|O")),
      ("unicode", npyBytes(header: "{'descr': '<U2', 'fortran_order': False, 'shape': (1,), }", data: f4), .unsupportedDType(source: "x", descr: "<U2")),
      ("structured", npyBytes(header: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0]),
       .malformedNPY(source: "x", detail: "header: 'descr' is not a string (structured dtypes are not supported)")),
      ("truncated data", npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data: f4), .dataSize(source: "x", expected: 12, actual: 8)),
      ("trailing data", npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data: f4), .dataSize(source: "x", expected: 4, actual: 8)),
      ("overflowing shape", npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data: f4),
       .tooLarge(source: "x", detail: "shape [4294967296, 4294967296] overflows the element count")),
      ("huge shape", npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }", data: f4),
       .dataSize(source: "x", expected: 4_000_000_000_000, actual: 8)),
      ("negative dim", npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", data: f4),
       .malformedNPY(source: "x", detail: "header: 'shape' holds something other than non-negative integers")),
      ("extra key", npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", data: f4),
       .malformedNPY(source: "x", detail: "header: unexpected key 'x'")),
      ("missing key", npyBytes(header: "{'descr': '<f4', 'shape': (2,), }", data: f4), .malformedNPY(source: "x", detail: "header: no 'fortran_order'")),
      ("bad magic", Array("NOTNUMPY12345".utf8), .malformedNPY(source: "x", detail: "it does not start with the .npy magic")),
      ("version 4", [0x93] + Array("NUMPY".utf8) + [4, 0, 0, 0], .unsupportedVersion(source: "x", major: 4, minor: 0)),
      ("header past end", [0x93] + Array("NUMPY".utf8) + [1, 0, 0xFF, 0x00, 0x7B], .malformedNPY(source: "x", detail: "the header claims 255 bytes but only 1 follow")),
      ("header over limit", [0x93] + Array("NUMPY".utf8) + [2, 0, 0, 0, 0, 0x10], .tooLarge(source: "x", detail: "a header of 268435456 bytes (the limit is 1048576)")),
    ]
    for (label, bytes, expected) in cases {
      XCTAssertThrowsError(try NPY.decode(bytes, source: "x"), label) { error in
        XCTAssertEqual(error as? NumPyIOError, expected, label)
        XCTAssertFalse(String(describing: error).contains("\n"), "\(label): one line")
      }
    }
  }

  func testRawInitializerChecksSize() {
    XCTAssertThrowsError(try NPYArray(dtype: .float32, shape: [2], data: [0, 0, 0, 0])) { error in
      XCTAssertEqual(error as? NumPyIOError, .invalidArray(detail: "4 bytes for float32 shape [2], which needs 8"))
    }
  }

  func testFileErrors() throws {
    let folder = try makeTemporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    XCTAssertThrowsError(try NPY.read(path: folder.path + "/missing.npy")) { error in
      XCTAssertEqual(error as? NumPyIOError, .fileNotFound(path: folder.path + "/missing.npy"))
    }
    XCTAssertThrowsError(try NPY.read(path: folder.path)) { error in
      XCTAssertEqual(error as? NumPyIOError, .readFailed(path: folder.path, reason: "it is not a regular file"))
    }
    let path = folder.path + "/a.npy"
    let array = NPYArray(shape: [2, 2], int64s: [1, 2, 3, 4])
    try NPY.write(array, to: path)
    XCTAssertEqual(try NPY.read(path: path), array)
  }
}
