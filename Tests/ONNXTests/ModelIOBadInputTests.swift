import Foundation
import ONNXProto
import XCTest

@testable import ONNX

/// Each bad input gets its own `ONNXError` case and an exact one-sentence message.
final class ModelIOBadInputTests: XCTestCase {
  private var folder: URL!

  override func setUpWithError() throws { folder = try makeTemporaryFolder() }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

  private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  func testMissingFile() {
    let p = path("missing.onnx")
    assertThrows(.fileNotFound(path: p), message: "model file '\(p)' does not exist.", try ModelIO.readModel(at: p))
  }

  func testEmptyFile() throws {
    let p = path("empty.onnx")
    try Data().write(to: URL(fileURLWithPath: p))
    assertThrows(.emptyFile(path: p), message: "model file '\(p)' is empty (0 bytes).", try ModelIO.readModel(at: p))
  }

  func testFolderInsteadOfFile() {
    let p = folder.path
    assertThrows(
      .readFailed(path: p, reason: "it is not a regular file"), message: "cannot read '\(p)': it is not a regular file.",
      try ModelIO.readModel(at: p))
  }

  func testRandomBytes() throws {
    // 4096 bytes from SplitMix64 seeded with 42: the first tag is already malformed protobuf.
    var rng = SeededGenerator(seed: 42)
    let bytes = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
    let p = path("random.onnx")
    try Data(bytes).write(to: URL(fileURLWithPath: p))
    assertThrows(
      .notAModel(path: p, reason: "its 4096 bytes are not valid protobuf data"),
      message: "'\(p)' is not an ONNX model: its 4096 bytes are not valid protobuf data.", try ModelIO.readModel(at: p))
  }

  func testTruncatedModel() throws {
    let original = try Data(contentsOf: try onnxConvTestModels().first { $0.path.contains("/test_Conv2d/") }!)
    let half = original.prefix(original.count / 2)
    let p = path("truncated.onnx")
    try half.write(to: URL(fileURLWithPath: p))
    let reason = "its \(half.count) bytes end in the middle of a protobuf field (truncated file?)"
    assertThrows(
      .notAModel(path: p, reason: reason), message: "'\(p)' is not an ONNX model: \(reason).", try ModelIO.readModel(at: p))
  }

  func testValidProtobufThatIsNotAModel() throws {
    // A serialized TensorProto parses as a ModelProto (its dims look like ir_version, the other
    // fields are unknown or of another wire type) but has no graph. (With a name it would not
    // even parse: field 8 is opset_import in a ModelProto and "t" is not a valid message.)
    var tensor = Onnx_TensorProto.makeFloats([1, 2, 3], shape: [3], name: "", dataType: .float)
    tensor.clearName()
    let p = path("tensor.pb")
    try tensor.serializedData().write(to: URL(fileURLWithPath: p))
    assertThrows(
      .notAModel(path: p, reason: "it is valid protobuf but has no graph"),
      message: "'\(p)' is not an ONNX model: it is valid protobuf but has no graph.", try ModelIO.readModel(at: p))
  }

  func testModelWithoutOpsetImport() throws {
    var model = makeConvModel()
    model.opsetImport = []
    let p = path("no-opset.onnx")
    try model.serializedData().write(to: URL(fileURLWithPath: p))
    let reason = "it has ir_version 8 but no opset_import (required from IR version 3)"
    assertThrows(
      .notAModel(path: p, reason: reason), message: "'\(p)' is not an ONNX model: \(reason).", try ModelIO.readModel(at: p))
  }

  func testModelWithoutIrVersion() throws {
    var model = makeConvModel()
    model.clearIrVersion()
    let p = path("no-ir.onnx")
    try model.serializedData().write(to: URL(fileURLWithPath: p))
    assertThrows(
      .notAModel(path: p, reason: "it is valid protobuf but has no ir_version"),
      message: "'\(p)' is not an ONNX model: it is valid protobuf but has no ir_version.", try ModelIO.readModel(at: p))
  }

  func testMissingExternalDataFile() throws {
    let p = path("ext.onnx")
    try ModelIO.writeModel(makeConvModel(), to: p, externalData: .always(thresholdBytes: 100))
    try FileManager.default.removeItem(atPath: p + ".data")
    let side = folder.path + "/ext.onnx.data"
    assertThrows(
      .externalDataMissing(tensor: "w", path: side),
      message: "tensor 'w': external data file '\(side)' does not exist.", try ModelIO.readModel(at: p))
  }

  func testExternalDataOutOfRange() throws {
    let p = path("short.onnx")
    try ModelIO.writeModel(makeConvModel(), to: p, externalData: .always(thresholdBytes: 100))
    let side = folder.path + "/short.onnx.data"
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: side))
    try handle.truncate(atOffset: 500)
    try handle.close()
    assertThrows(
      .externalDataOutOfRange(tensor: "w", path: side, offset: 0, length: 864, fileSize: 500),
      message: "tensor 'w': external data needs bytes 0..<864 (864 bytes at offset 0) but '\(side)' has 500 bytes.",
      try ModelIO.readModel(at: p))
  }

  func testExternalDataOutsideTheModelFolder() throws {
    var model = makeConvModel()
    model.graph.initializer[0].clearRawData()
    model.graph.initializer[0].dataLocation = .external
    var location = Onnx_StringStringEntryProto()
    location.key = "location"
    location.value = "../elsewhere.bin"
    model.graph.initializer[0].externalData = [location]
    let p = path("escape.onnx")
    try model.serializedData().write(to: URL(fileURLWithPath: p))
    assertThrows(
      .externalDataInvalid(tensor: "w", reason: "location '../elsewhere.bin' leaves the model's folder"),
      message: "tensor 'w': invalid external data, location '../elsewhere.bin' leaves the model's folder.",
      try ModelIO.readModel(at: p))
  }

  func testWriteToMissingFolder() throws {
    let missing = folder.appendingPathComponent("no/such")
    let p = missing.appendingPathComponent("out.onnx").path
    assertThrows(
      .outputDirectoryMissing(path: missing.path), message: "output folder '\(missing.path)' does not exist.",
      try ModelIO.writeModel(makeConvModel(), to: p, externalData: .automatic))
    XCTAssertEqual(try fileNames(in: folder), [])
  }

  func testWritingAnUnresolvedExternalTensorIsRefused() throws {
    var model = makeConvModel()
    model.graph.initializer[1].dataLocation = .external
    let p = path("out.onnx")
    assertThrows(
      .externalDataUnresolved(tensor: "b"),
      message: "tensor 'b': data is still in an external file; load the model with readModel to resolve it.",
      try ModelIO.writeModel(model, to: p, externalData: .automatic))
    XCTAssertEqual(try fileNames(in: folder), [])
  }

  func testAFolderOnTheSideFileNameIsLeftAloneAndTheSideFileTakesTheNextName() throws {
    // A folder squats on the side file's name: it is not a file the new model could reuse, so
    // the side file goes to the next free name, and nothing else is left behind.
    try FileManager.default.createDirectory(atPath: path("out.onnx.data"), withIntermediateDirectories: false)
    XCTAssertTrue(FileManager.default.createFile(atPath: path("out.onnx.data/keep"), contents: Data([1])))
    let p = path("out.onnx")
    try ModelIO.writeModel(makeConvModel(), to: p, externalData: .always(thresholdBytes: 0))
    XCTAssertEqual(try fileNames(in: folder), ["out.onnx", "out.onnx.1.data", "out.onnx.data"])
    XCTAssertEqual(try ModelIO.readModel(at: p), makeConvModel())
  }

  func testWriteOverAFolderIsRefused() throws {
    let p = path("dir.onnx")
    try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: false)
    assertThrows(
      .writeFailed(path: p, reason: "it is a folder"), message: "cannot write '\(p)': it is a folder.",
      try ModelIO.writeModel(makeConvModel(), to: p, externalData: .automatic))
    XCTAssertEqual(try fileNames(in: folder), ["dir.onnx"])
  }

  func testWriteNeverReplacesAnotherModelsExternalData() throws {
    // b.onnx is a copy of a.onnx, so it keeps its data in a.onnx.data. Once b.onnx has been read,
    // writing over a.onnx.data itself is refused, and rewriting a.onnx leaves a.onnx.data alone.
    let a = path("a.onnx")
    try ModelIO.writeModel(makeConvModel(), to: a, externalData: .always(thresholdBytes: 100))
    try FileManager.default.copyItem(atPath: a, toPath: path("b.onnx"))
    let model = try ModelIO.readModel(at: path("b.onnx"))
    let side = path("a.onnx.data")
    let before = try Data(contentsOf: URL(fileURLWithPath: side))
    let message = "refusing to write '\(side)': it holds the external data of the input model '\(path("b.onnx"))'; choose another output name."
    assertThrows(
      .wouldOverwriteExternalData(path: side, model: path("b.onnx")), message: message,
      try ModelIO.writeModel(model, to: side, externalData: .automatic))
    XCTAssertEqual(try fileNames(in: folder), ["a.onnx", "a.onnx.data", "b.onnx"])
    // Other weights with a side file: a.onnx gets a fresh side file; b.onnx's data stays.
    try ModelIO.writeModel(makeConvModel(seed: 9), to: a, externalData: .always(thresholdBytes: 100))
    XCTAssertEqual(try fileNames(in: folder), ["a.onnx", "a.onnx.1.data", "a.onnx.data", "b.onnx"])
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: side)), before)
    XCTAssertEqual(try ModelIO.readModel(at: path("b.onnx")), model)
    // Inline: a.onnx no longer needs a side file; b.onnx's stays, a.onnx's own previous one goes.
    try ModelIO.writeModel(model, to: a, externalData: .automatic)
    XCTAssertEqual(try fileNames(in: folder), ["a.onnx", "a.onnx.data", "b.onnx"])
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: side)), before)
  }

  func testRewritingAModelInPlaceWithItsOwnSideFileIsAllowed() throws {
    let c = path("c.onnx")
    try ModelIO.writeModel(makeConvModel(), to: c, externalData: .always(thresholdBytes: 100))
    let model = try ModelIO.readModel(at: c)
    try ModelIO.writeModel(model, to: c, externalData: .always(thresholdBytes: 100))
    XCTAssertEqual(try ModelIO.readModel(at: c), model)
  }
}
