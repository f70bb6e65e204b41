import Foundation
import ONNXProto
import XCTest

@testable import ONNX

/// External data is read like onnx reads it, or stricter: only regular files inside the model's
/// folder, reached without following any symlink; nothing blocks on a FIFO; no number from the
/// file traps while the error message is formatted.
final class ExternalDataSafetyTests: XCTestCase {
  private var root: URL!
  private var folder: URL!

  override func setUpWithError() throws {
    root = try makeTemporaryFolder()
    folder = root.appendingPathComponent("model")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
    // The file every attack tries to read: outside the model's folder.
    try FileManager.default.createDirectory(at: root.appendingPathComponent("outside"), withIntermediateDirectories: false)
    try weightBytes().write(to: root.appendingPathComponent("outside/secret.bin"))
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

  /// The 864 bytes of `w` in `makeConvModel()`.
  private func weightBytes() throws -> Data {
    makeConvModel().graph.initializer[0].rawData
  }

  /// Writes `makeConvModel()` with `w` pointing at `location` (optionally `offset`/`length`);
  /// returns the model's path.
  private func writeModel(location: String, offset: String? = nil, length: String? = nil) throws -> String {
    var model = makeConvModel()
    model.graph.initializer[0].clearRawData()
    model.graph.initializer[0].dataLocation = .external
    var entries: [(String, String)] = [("location", location)]
    if let offset { entries.append(("offset", offset)) }
    if let length { entries.append(("length", length)) }
    model.graph.initializer[0].externalData = entries.map { key, value in
      var entry = Onnx_StringStringEntryProto()
      entry.key = key
      entry.value = value
      return entry
    }
    let p = folder.appendingPathComponent("m.onnx").path
    try model.serializedData().write(to: URL(fileURLWithPath: p))
    return p
  }

  private func refused(_ location: String, _ reason: String) -> ONNXError {
    .externalDataInvalid(tensor: "w", reason: "location '\(location)' \(reason)")
  }

  /// Runs `body` on another thread; fails instead of hanging the suite when it blocks (a FIFO).
  private func withinSeconds<T>(_ seconds: Double, _ body: @escaping () throws -> T) -> Result<T, Error>? {
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox<T>()
    Thread { box.result = Result(catching: body); done.signal() }.start()
    guard done.wait(timeout: .now() + seconds) == .success else { return nil }
    return box.result
  }

  func testPlainAndSubfolderLocationsStillWork() throws {
    try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: false)
    try weightBytes().write(to: folder.appendingPathComponent("sub/w.bin"))
    let p = try writeModel(location: "./sub//w.bin", offset: "0", length: "864")
    XCTAssertEqual(try ModelIO.readModel(at: p).graph.initializer[0].rawData, try weightBytes())
  }

  func testSymlinkToAFileInsideTheFolderIsRefused() throws {
    try weightBytes().write(to: folder.appendingPathComponent("real.bin"))
    try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("w.bin").path, withDestinationPath: "real.bin")
    let p = try writeModel(location: "w.bin")
    let error = refused("w.bin", "goes through the symlink 'w.bin'")
    assertThrows(error, message: "tensor 'w': invalid external data, location 'w.bin' goes through the symlink 'w.bin'.",
                 try ModelIO.readModel(at: p))
  }

  func testRelativeSymlinkOutOfTheFolderIsRefused() throws {
    try FileManager.default.createSymbolicLink(
      atPath: folder.appendingPathComponent("w.bin").path, withDestinationPath: "../outside/secret.bin")
    let p = try writeModel(location: "w.bin")
    assertThrows(refused("w.bin", "goes through the symlink 'w.bin'"),
                 message: "tensor 'w': invalid external data, location 'w.bin' goes through the symlink 'w.bin'.",
                 try ModelIO.readModel(at: p))
  }

  func testSymlinkedFolderComponentIsRefused() throws {
    try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("sub").path, withDestinationPath: "../outside")
    let p = try writeModel(location: "sub/secret.bin")
    assertThrows(refused("sub/secret.bin", "goes through the symlink 'sub'"),
                 message: "tensor 'w': invalid external data, location 'sub/secret.bin' goes through the symlink 'sub'.",
                 try ModelIO.readModel(at: p))
  }

  func testDotDotBehindACombiningMarkIsRefused() throws {
    // "../\u{301}/secret.bin": as Characters, "/\u{301}" is one grapheme, so splitting on the
    // Character "/" sees no ".." component; the kernel sees "..", "\u{301}", "secret.bin" and
    // climbs out of the folder into root/\u{301}/.
    let hidden = root.appendingPathComponent("\u{301}")
    try FileManager.default.createDirectory(at: hidden, withIntermediateDirectories: false)
    try weightBytes().write(to: hidden.appendingPathComponent("secret.bin"))
    let location = "../\u{301}/secret.bin"
    XCTAssertFalse(location.split(separator: "/").contains(".."), "the precondition of this attack")
    let p = try writeModel(location: location)
    assertThrows(refused(location, "leaves the model's folder"),
                 message: "tensor 'w': invalid external data, location '\(location)' leaves the model's folder.",
                 try ModelIO.readModel(at: p))
  }

  func testNulByteIsRefused() throws {
    try weightBytes().write(to: folder.appendingPathComponent("w.bin"))
    let location = "w.bin\u{0}../../outside/secret.bin"
    let p = try writeModel(location: location)
    assertThrows(refused(location, "contains a NUL byte"),
                 message: "tensor 'w': invalid external data, location '\(location)' contains a NUL byte.",
                 try ModelIO.readModel(at: p))
  }

  func testFolderAsExternalDataIsRefused() throws {
    try FileManager.default.createDirectory(at: folder.appendingPathComponent("d"), withIntermediateDirectories: false)
    let p = try writeModel(location: "d")
    assertThrows(refused("d", "is not a regular file"),
                 message: "tensor 'w': invalid external data, location 'd' is not a regular file.",
                 try ModelIO.readModel(at: p))
  }

  func testFifoAsExternalDataIsRefusedWithoutBlocking() throws {
    XCTAssertEqual(mkfifo(folder.appendingPathComponent("w.bin").path, 0o600), 0)
    let p = try writeModel(location: "w.bin")
    guard let result = withinSeconds(10, { try ModelIO.readModel(at: p) }) else {
      return XCTFail("reading a model whose external data is a FIFO blocked for 10 s")
    }
    XCTAssertThrowsError(try result.get()) { XCTAssertEqual($0 as? ONNXError, self.refused("w.bin", "is not a regular file")) }
  }

  func testFifoAsTheModelIsRefusedWithoutBlocking() throws {
    let p = folder.appendingPathComponent("pipe.onnx").path
    XCTAssertEqual(mkfifo(p, 0o600), 0)
    guard let result = withinSeconds(10, { try ModelIO.readModel(at: p) }) else {
      return XCTFail("reading a FIFO as the model blocked for 10 s")
    }
    XCTAssertThrowsError(try result.get()) {
      XCTAssertEqual($0 as? ONNXError, .readFailed(path: p, reason: "it is not a regular file"))
    }
  }

  func testOffsetAndLengthNearIntMaxGiveAMessageNotATrap() throws {
    try weightBytes().write(to: folder.appendingPathComponent("w.bin"))
    let big = Int.max
    let p = try writeModel(location: "w.bin", offset: String(big), length: String(big))
    let side = folder.path + "/w.bin"
    assertThrows(
      .externalDataOutOfRange(tensor: "w", path: side, offset: big, length: big, fileSize: 864),
      message: "tensor 'w': external data needs bytes \(big)..<18446744073709551614 (\(big) bytes at offset \(big)) "
        + "but '\(side)' has 864 bytes.",
      try ModelIO.readModel(at: p))
  }
}

/// A result written by one thread before it signals, and read by another after the wait.
private final class ResultBox<T>: @unchecked Sendable {
  var result: Result<T, Error>?
}
