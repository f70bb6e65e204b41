import Foundation
import ONNX
import XCTest

/// `TensorFile` reads and writes one serialized TensorProto per file (ONNX's test-data layout).
final class TensorFileTests: XCTestCase {
  private func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("tensorfile-\(UUID().uuidString)-\(name)").path
  }

  func testEachStorageKindRoundTrips() throws {
    let cases = [
      TensorData(name: "f", elementType: .float, shape: [2, 2], values: .floats([1, -2.5, .infinity, 0])),
      TensorData(name: "i", elementType: .int64, shape: [3], values: .integers([-1, 0, .max])),
      TensorData(name: "b", elementType: .bool, shape: [], values: .bools([true])),
    ]
    for data in cases {
      let path = temporaryPath(data.name)
      defer { try? FileManager.default.removeItem(atPath: path) }
      try TensorFile.save(data, to: path)
      XCTAssertEqual(try TensorFile.load(path: path), data, data.name)
    }
  }

  func testNodeTestDataDecodesNarrowIntegerTypes() throws {
    // uint8 input of onnx's MaxPool test: raw_data, one byte per value.
    let path = "/usr/share/libonnx-testdata/data/node/test_maxpool_2d_uint8/test_data_set_0/input_0.pb"
    let t = try TensorFile.load(path: path)
    XCTAssertEqual(t.elementType, .uint8)
    XCTAssertEqual(t.shape, [1, 1, 5, 5])
    XCTAssertEqual(t.values, .integers((1...25).map { Int64($0) }))
  }

  func testMissingAndMalformedFilesAreNamed() throws {
    let missing = temporaryPath("missing")
    XCTAssertThrowsError(try TensorFile.load(path: missing)) {
      XCTAssertEqual($0 as? TensorFileError, .fileNotFound(path: missing))
    }
    let garbage = temporaryPath("garbage")
    defer { try? FileManager.default.removeItem(atPath: garbage) }
    try Data([0xFF, 0xFF, 0xFF, 0xFF]).write(to: URL(fileURLWithPath: garbage))
    XCTAssertThrowsError(try TensorFile.load(path: garbage)) { error in
      guard case .notATensor(let p, _)? = error as? TensorFileError else { return XCTFail("\(error)") }
      XCTAssertEqual(p, garbage)
    }
  }
}
