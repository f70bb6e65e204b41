import Foundation
import ONNXProto
import XCTest

@testable import ONNX

#if canImport(Glibc)
  import Glibc
#endif

/// Model, side file and report commit together or not at all; targets that alias the input or
/// each other, or are not regular files, are refused before anything is written.
final class WriteTransactionTests: XCTestCase {
  private var folder: URL!

  override func setUpWithError() throws { folder = try makeTemporaryFolder() }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

  private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  /// Every entry of the folder (hidden ones too) with its bytes (nil for non-regular files).
  private func contents() throws -> [String: Data?] {
    var result: [String: Data?] = [:]
    for name in try fileNames(in: folder) {
      var isFolder: ObjCBool = false
      _ = FileManager.default.fileExists(atPath: path(name), isDirectory: &isFolder)
      let regular = !isFolder.boolValue && (try? FileManager.default.attributesOfItem(atPath: path(name))[.type] as? FileAttributeType) == .typeRegular
      result[name] = regular ? try Data(contentsOf: URL(fileURLWithPath: path(name))) : nil
    }
    return result
  }

  /// Writes `model` with a side file, and `report`, to out.onnx / report.json as one transaction.
  private func write(_ model: Onnx_ModelProto, report: String, failBeforeCommit: Bool = false) throws {
    let transaction = try WriteTransaction(input: nil, model: path("out.onnx"), report: path("report.json"))
    try transaction.stageModel(model, externalData: .always(thresholdBytes: 100), inlineLimitBytes: Int(Int32.max))
    try transaction.stageReport(Data(report.utf8))
    if failBeforeCommit { transaction.beforeCommitPoint = { throw ONNXError.writeFailed(path: "out.onnx", reason: "injected") } }
    try transaction.commit()
  }

  func testAFailureBeforeTheCommitPointLeavesThePreviousStateExactly() throws {
    try write(makeConvModel(seed: 1), report: "first")
    let before = try contents()
    XCTAssertEqual(before.keys.sorted(), ["out.onnx", "out.onnx.data", "report.json"])
    XCTAssertThrowsError(try write(makeConvModel(seed: 2), report: "second", failBeforeCommit: true))
    XCTAssertEqual(try contents(), before, "model, side file and report are the previous ones, and no temporary file is left")
    XCTAssertEqual(try ModelIO.readModel(at: path("out.onnx")), makeConvModel(seed: 1))
  }

  func testANewSideFileTakesAFreshNameAndThePreviousOneGoesAfterTheCommit() throws {
    try write(makeConvModel(seed: 1), report: "first")
    let firstSide = try Data(contentsOf: URL(fileURLWithPath: path("out.onnx.data")))
    try write(makeConvModel(seed: 2), report: "second")
    XCTAssertEqual(try fileNames(in: folder), ["out.onnx", "out.onnx.1.data", "report.json"])
    XCTAssertEqual(try ModelIO.readModel(at: path("out.onnx")), makeConvModel(seed: 2))
    XCTAssertEqual(try String(contentsOfFile: path("report.json"), encoding: .utf8), "second")
    // The same bytes again: the existing side file is reused as is (determinism).
    try write(makeConvModel(seed: 2), report: "third")
    XCTAssertEqual(try fileNames(in: folder), ["out.onnx", "out.onnx.1.data", "report.json"])
    XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: path("out.onnx.1.data"))), firstSide)
  }

  func testTargetsThatAliasTheInputOrEachOtherAreRefused() throws {
    let input = path("in.onnx")
    try makeConvModel().serializedData().write(to: URL(fileURLWithPath: input))
    try FileManager.default.createDirectory(atPath: path("sub"), withIntermediateDirectories: false)
    try FileManager.default.createSymbolicLink(atPath: path("sub/up"), withDestinationPath: "..")
    try FileManager.default.createSymbolicLink(atPath: path("link.onnx"), withDestinationPath: "in.onnx")
    let cases: [(model: String?, report: String?, error: ONNXError)] = [
      (path("sub/up/in.onnx"), nil, .pathsAlias(role: "output", path: path("sub/up/in.onnx"), other: "the input", otherPath: input)),
      (path("link.onnx"), nil, .pathsAlias(role: "output", path: path("link.onnx"), other: "the input", otherPath: input)),
      (path("o.onnx"), path("./in.onnx"), .pathsAlias(role: "report", path: path("./in.onnx"), other: "the input", otherPath: input)),
      // Neither exists yet: compared by real folder and name.
      (path("o.onnx"), path("sub/up/o.onnx"), .pathsAlias(role: "report", path: path("sub/up/o.onnx"), other: "the output", otherPath: path("o.onnx"))),
      (path("o.onnx"), path("o.onnx.3.data"),
       .pathsAlias(role: "report", path: path("o.onnx.3.data"), other: "a side-file name of the output", otherPath: path("o.onnx"))),
    ]
    for c in cases {
      XCTAssertThrowsError(try WriteTransaction(input: input, model: c.model, report: c.report)) { error in
        XCTAssertEqual(error as? ONNXError, c.error)
      }
    }
    XCTAssertEqual(
      ONNXError.pathsAlias(role: "report", path: "r", other: "the input", otherPath: "i").description,
      "the report 'r' is the input 'i'; choose another path.")
    XCTAssertEqual(try fileNames(in: folder), ["in.onnx", "link.onnx", "sub"])
  }

  func testTargetsThatAreNotRegularFilesAreRefused() throws {
    XCTAssertEqual(mkfifo(path("fifo"), 0o600), 0)
    try FileManager.default.createSymbolicLink(atPath: path("null"), withDestinationPath: "/dev/null")
    let cases: [(String, String)] = [
      (path("fifo"), "it is a FIFO; only regular files are replaced"),
      (path("null"), "it is a device; only regular files are replaced"),
      (folder.path, "it is a folder"),
    ]
    for (target, reason) in cases {
      XCTAssertThrowsError(try WriteTransaction(input: nil, model: target, report: nil)) {
        XCTAssertEqual($0 as? ONNXError, .writeFailed(path: target, reason: reason))
      }
      XCTAssertThrowsError(try WriteTransaction(input: nil, model: path("o.onnx"), report: target)) {
        XCTAssertEqual($0 as? ONNXError, .writeFailed(path: target, reason: reason))
      }
    }
    XCTAssertEqual(try fileNames(in: folder), ["fifo", "null"])
  }

  func testStaleTemporaryFilesOfDeadRunsAreRemoved() throws {
    // A process that has exited: its pid is free (and not reused within this test).
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/bin/true")
    try child.run()
    child.waitUntilExit()
    let dead = ".out.onnx.onnx-rstd-tmp-\(child.processIdentifier)-1f"
    let alive = ".out.onnx.onnx-rstd-tmp-1-2e"  // pid 1 is always alive
    for name in [dead, alive] { try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path(name))) }
    try ModelIO.writeModel(makeConvModel(), to: path("out.onnx"), externalData: .automatic)
    XCTAssertEqual(try fileNames(in: folder), [alive, "out.onnx"])
  }

  func testTemporaryFilesAreRegisteredForSignalsUntilCommitted() throws {
    let file = try TemporaryFile(destination: path("x.onnx"))
    let temporary = file.path
    XCTAssertTrue(temporary.contains(".x.onnx.onnx-rstd-tmp-\(getpid())-"), temporary)
    TemporaryFiles.removeAllForSignal()  // what the CLI's SIGINT/SIGTERM handler does
    XCTAssertFalse(FileManager.default.fileExists(atPath: temporary))
    file.discard()
    try Data([1]).write(to: URL(fileURLWithPath: temporary))
    TemporaryFiles.removeAllForSignal()  // discarded: no longer registered
    XCTAssertTrue(FileManager.default.fileExists(atPath: temporary))
  }

  /// Small writes are gathered before they reach the file; the file holds every byte in order.
  func testGatheredWritesKeepEveryByteInOrder() throws {
    let file = try TemporaryFile(destination: path("x.bin"))
    var expected = Data()
    var rng = SystemRandomNumberGenerator()
    for i in 0..<3000 {
      // Mostly small pieces, some past the gathering threshold, some zero runs.
      let count = i % 500 == 7 ? 200_000 : Int(rng.next() % 300)
      let piece = Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
      if i % 97 == 3 {
        try file.writeZeros(count)
        expected.append(Data(count: count))
      } else {
        try file.write(piece)
        expected.append(piece)
      }
    }
    XCTAssertEqual(file.size, expected.count)
    let temporary = file.path
    try file.finish()
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: temporary)), expected)
    file.discard()
  }
}
