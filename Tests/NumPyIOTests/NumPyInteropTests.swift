import Foundation
import NumPyIO
import XCTest

/// numpy reads what we write, and we read what numpy writes (np.save in each format version,
/// np.savez, np.savez_compressed), plus hostile deflated archives built with Python's zipfile.
final class NumPyInteropTests: XCTestCase {
  /// Values both sides compute from the index alone, so neither reads the other's expectations.
  static func values(_ n: Int) -> [Float] { (0..<n).map { Float($0) * 0.5 - 3 } }

  func testNumpyReadsWhatWeWrite() throws {
    let folder = try makeTemporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let npz = folder.path + "/ours.npz", npy = folder.path + "/ours.npy"
    try NPZ.write([
      ("x", NPYArray(shape: [2, 3, 4], floats: Self.values(24))),
      ("ids", NPYArray(shape: [5], int64s: [-2, -1, 0, 1, 1 << 40])),
      ("mask", NPYArray(shape: [2, 1], bools: [true, false])),
    ], to: npz)
    try NPY.write(NPYArray(shape: [], floats: [7.5]), to: npy)
    let out = try runPython("""
      import sys, numpy as np
      z = np.load(sys.argv[1])
      assert list(z.keys()) == ['x', 'ids', 'mask'], list(z.keys())
      x = z['x']; assert x.dtype == np.float32 and x.shape == (2, 3, 4)
      assert (x.ravel() == np.arange(24, dtype=np.float32) * 0.5 - 3).all()
      assert z['ids'].dtype == np.int64 and z['ids'].tolist() == [-2, -1, 0, 1, 1 << 40]
      assert z['mask'].dtype == np.bool_ and z['mask'].tolist() == [[True], [False]]
      s = np.load(sys.argv[2]); assert s.shape == () and s.dtype == np.float32 and float(s) == 7.5
      print('ok')
      """, [npz, npy])
    XCTAssertEqual(out, "ok\n")
  }

  func testWeReadWhatNumpyWrites() throws {
    let folder = try makeTemporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let p = folder.path
    try runPython("""
      import sys, numpy as np
      d = sys.argv[1]
      v = np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 0.5 - 3
      arrays = dict(x=v, h=v.astype(np.float16), d=v.astype(np.float64), i=np.arange(-3, 3, dtype=np.int32),
                    b=np.array([-128, 5], np.int8), u=np.array([255, 0], np.uint8), m=np.array([True, False]),
                    l=np.arange(6, dtype=np.int64).reshape(3, 2))
      np.savez(d + '/plain.npz', **arrays)
      np.savez_compressed(d + '/deflated.npz', **arrays)
      for version in [(1, 0), (2, 0), (3, 0)]:
          with open(d + '/v%d.npy' % version[0], 'wb') as f:
              np.lib.format.write_array(f, v, version=version)
      np.save(d + '/fortran.npy', np.asfortranarray(v))
      np.save(d + '/big.npy', v.astype('>f4'))
      np.save(d + '/strings.npy', np.array(['ab', 'c']))
      """, [p])
    let v = Self.values(24)
    for file in ["plain.npz", "deflated.npz"] {
      let entries = try NPZ.read(path: "\(p)/\(file)")
      XCTAssertEqual(entries.map(\.name), ["x", "h", "d", "i", "b", "u", "m", "l"], file)
      let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.array) })
      XCTAssertEqual(byName["x"]?.dtype, .float32)
      XCTAssertEqual(byName["x"]?.shape, [2, 3, 4])
      XCTAssertEqual(byName["x"]?.floatValues(), v, file)
      XCTAssertEqual(byName["h"]?.dtype, .float16)
      XCTAssertEqual(byName["h"]?.floatValues(), v, "\(file): halves of multiples of 0.5 are exact")
      XCTAssertEqual(byName["d"]?.floatValues(), v, file)
      XCTAssertEqual(byName["i"]?.integerValues(), [-3, -2, -1, 0, 1, 2], file)
      XCTAssertEqual(byName["b"]?.integerValues(), [-128, 5], file)
      XCTAssertEqual(byName["u"]?.integerValues(), [255, 0], file)
      XCTAssertEqual(byName["m"]?.boolValues(), [true, false], file)
      XCTAssertEqual(byName["l"]?.shape, [3, 2])
      XCTAssertEqual(byName["l"]?.integerValues(), [0, 1, 2, 3, 4, 5], file)
    }
    for version in 1...3 {
      XCTAssertEqual(try NPY.read(path: "\(p)/v\(version).npy").floatValues(), v, "version \(version)")
    }
    XCTAssertThrowsError(try NPY.read(path: "\(p)/fortran.npy")) { XCTAssertEqual($0 as? NumPyIOError, .fortranOrder(source: "\(p)/fortran.npy")) }
    XCTAssertThrowsError(try NPY.read(path: "\(p)/big.npy")) { XCTAssertEqual($0 as? NumPyIOError, .bigEndian(source: "\(p)/big.npy", descr: ">f4")) }
    XCTAssertThrowsError(try NPY.read(path: "\(p)/strings.npy")) {
      XCTAssertEqual($0 as? NumPyIOError, .unsupportedDType(source: "\(p)/strings.npy", descr: "<U2"))
    }
  }

  /// Deflated members whose directory lies about their size: a bomb (a small stream claiming
  /// far more than deflate can make), one that inflates past its size, one cut short.
  func testHostileDeflatedMembers() throws {
    let folder = try makeTemporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let p = folder.path
    try runPython("""
      import io, struct, sys, zlib, numpy as np
      d = sys.argv[1]
      buf = io.BytesIO(); np.save(buf, np.arange(1 << 18, dtype=np.int32)); member = buf.getvalue()
      raw = zlib.compressobj(9, zlib.DEFLATED, -15); stream = raw.compress(member) + raw.flush()
      def archive(path, data, usize, crc):
          name = b'a.npy'
          local = struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, 0, 8, 0, 33, crc, len(data), usize, len(name), 0) + name
          central = struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 20, 20, 0, 8, 0, 33, crc, len(data), usize, len(name), 0, 0, 0, 0, 0, 0) + name
          end = struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 1, 1, len(central), len(local) + len(data), 0)
          open(path, 'wb').write(local + data + central + end)
      crc = zlib.crc32(member)
      archive(d + '/bomb.npz', stream, 0xFFFFFFF0, crc)
      archive(d + '/short-size.npz', stream, len(member) - 1, crc)
      archive(d + '/cut.npz', stream[: len(stream) // 2], len(member), crc)
      archive(d + '/ok.npz', stream, len(member), crc)
      """, [p])
    XCTAssertEqual(try NPZ.read(path: "\(p)/ok.npz").first?.array.integerValues()?.last, (1 << 18) - 1)
    let expectations: [(String, NumPyIOError)] = [
      ("short-size", .malformedZip(source: "\(p)/short-size.npz", detail: "member 'a.npy' inflates past its declared 1048703 bytes")),
      ("cut", .malformedZip(source: "\(p)/cut.npz", detail: "member 'a.npy' is truncated")),
    ]
    for (name, expected) in expectations {
      XCTAssertThrowsError(try NPZ.read(path: "\(p)/\(name).npz"), name) { XCTAssertEqual($0 as? NumPyIOError, expected, name) }
    }
    // The bomb claims 4 GiB - 16 bytes: over a 1 GiB limit it is refused by size; under the
    // default 4 GiB limit, because deflate cannot produce that from its few hundred KiB.
    XCTAssertThrowsError(try NPZ.read(path: "\(p)/bomb.npz", limits: NPZLimits(maxMemberBytes: 1 << 30))) {
      XCTAssertEqual($0 as? NumPyIOError, .tooLarge(source: "\(p)/bomb.npz:a.npy", detail: "4294967280 bytes uncompressed (the limit is 1073741824)"))
    }
    XCTAssertThrowsError(try NPZ.read(path: "\(p)/bomb.npz")) {
      guard case .malformedZip(_, let detail)? = $0 as? NumPyIOError else { return XCTFail("\($0)") }
      XCTAssertTrue(detail.contains("more than deflate can produce"), detail)
    }
  }
}
