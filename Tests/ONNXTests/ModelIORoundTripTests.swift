import Foundation
import ONNXProto
import SwiftProtobuf
import XCTest

@testable import ONNX

/// Load + save preserves models: byte for byte where the input was written canonically, and
/// field for field (unknown fields included) always.
final class ModelIORoundTripTests: XCTestCase {
  private var folder: URL!

  override func setUpWithError() throws { folder = try makeTemporaryFolder() }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

  /// Every onnx backend test model `test_Conv*` / `test_ConvTranspose*` comes back byte-identical:
  /// both protobuf C++ (which wrote them) and swift-protobuf write fields in field-number order,
  /// `dims` unpacked, the typed data fields packed.
  func testOnnxConvTestModelsRoundTripByteForByte() throws {
    let models = try onnxConvTestModels()
    XCTAssertGreaterThanOrEqual(models.count, 28, "expected the onnx wheel's test_Conv*/test_ConvTranspose* models")
    XCTAssertTrue(models.contains { $0.path.contains("test_ConvTranspose") })
    for url in models {
      let name = url.deletingLastPathComponent().lastPathComponent
      let model = try ModelIO.readModel(at: url.path)
      let out = folder.appendingPathComponent(name + ".onnx").path
      try ModelIO.writeModel(model, to: out, externalData: .automatic)
      let original = try Data(contentsOf: url)
      let written = try Data(contentsOf: URL(fileURLWithPath: out))
      XCTAssertEqual(written, original, "\(name): \(written.count) bytes written, \(original.count) read")
      XCTAssertEqual(try ModelIO.readModel(at: out), model, name)
    }
  }

  /// Every model under Models/ loads, saves and loads back to an equal model; models without
  /// external data also come back byte-identical (they were written by protobuf C++ via onnx).
  func testSampleModelsRoundTrip() throws {
    let root = repositoryRoot.appendingPathComponent("Models")
    let enumerator = FileManager.default.enumerator(atPath: root.path)
    let paths = (enumerator?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".onnx") }.sorted()
    XCTAssertFalse(paths.isEmpty, "no models under \(root.path)")
    for relative in paths {
      let input = root.appendingPathComponent(relative)
      let model = try ModelIO.readModel(at: input.path)
      let out = folder.appendingPathComponent(relative.replacingOccurrences(of: "/", with: "_")).path
      try ModelIO.writeModel(model, to: out, externalData: .automatic)
      XCTAssertEqual(try ModelIO.readModel(at: out), model, relative)
      var hasExternalData = false
      var raw = try Onnx_ModelProto(serializedBytes: Data(contentsOf: input))
      raw.forEachTensor { if $0.hasDataLocation && $0.dataLocation == .external { hasExternalData = true } }
      if !hasExternalData {
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), try Data(contentsOf: input), relative)
      }
    }
  }

  /// The split decoder and encoder agree with swift-protobuf's one-call decode and encode.
  func testSplitDecoderAndEncoderMatchSwiftProtobuf() throws {
    var inputs = try onnxConvTestModels().map { try Data(contentsOf: $0) }
    var big = makeConvModel(weightShape: [64, 32, 3, 3])  // 73,728 bytes: above the borrow threshold
    big.graph.initializer.append(.makeInt64s([1, 2], shape: [2], name: "small"))
    inputs.append(try big.serializedData())
    for (i, bytes) in inputs.enumerated() {
      let url = folder.appendingPathComponent("m\(i).onnx")
      try bytes.write(to: url)
      let file = try MappedFile(path: url.path)
      let whole = try ModelDecoder.decodeWhole(file.bytes)
      let parts = try XCTUnwrap(try ModelDecoder.decodeByParts(file), "model \(i) was not split")
      XCTAssertEqual(parts, whole, "model \(i)")
      XCTAssertEqual(try ModelEncoder.pieces(of: whole).reduce(Data(), +), try whole.serializedData(), "model \(i)")
      XCTAssertEqual(try ModelEncoder.encodedSize(of: whole), bytes.count, "model \(i)")
    }
  }

  /// Fields the schema does not know (here: field 99 on the model, field 50 on a tensor,
  /// field 30 on a node) are kept and written back unchanged.
  func testUnknownFieldsSurvive() throws {
    var model = makeConvModel(weightShape: [64, 32, 3, 3])
    var tensorExtra = UnknownFieldBytes()
    tensorExtra.append(field: 50, varint: 7)
    model.graph.initializer[0] = try withUnknownFields(model.graph.initializer[0], tensorExtra.bytes)
    var nodeExtra = UnknownFieldBytes()
    nodeExtra.append(field: 30, string: "keep me")
    model.graph.node[0] = try withUnknownFields(model.graph.node[0], nodeExtra.bytes)
    var modelExtra = UnknownFieldBytes()
    modelExtra.append(field: 99, varint: 12345)
    model = try withUnknownFields(model, modelExtra.bytes)
    let bytes = try model.serializedData()
    let input = folder.appendingPathComponent("unknown.onnx")
    try bytes.write(to: input)

    let loaded = try ModelIO.readModel(at: input.path)
    XCTAssertEqual(loaded.unknownFields.data, modelExtra.bytes)
    XCTAssertEqual(loaded.graph.initializer[0].unknownFields.data, tensorExtra.bytes)
    XCTAssertEqual(loaded.graph.node[0].unknownFields.data, nodeExtra.bytes)
    let out = folder.appendingPathComponent("out.onnx").path
    try ModelIO.writeModel(loaded, to: out, externalData: .always(thresholdBytes: 1024))
    let again = try ModelIO.readModel(at: out)
    XCTAssertEqual(again, loaded)
    try ModelIO.writeModel(again, to: out, externalData: .automatic)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), bytes)
  }

  /// External data: large tensors of the graph, of a Constant node and of a subgraph go to one
  /// side file at 4 KiB-aligned offsets; reading resolves them all; writing is deterministic.
  func testExternalDataRoundTrip() throws {
    var model = makeConvModel(weightShape: [16, 8, 3, 3])  // w: 4,608 bytes, b: 64 bytes
    var constant = Onnx_NodeProto()
    constant.opType = "Constant"
    constant.output = ["c"]
    var value = Onnx_AttributeProto()
    value.name = "value"
    value.type = .tensor
    value.t = .makeFloats(Array(repeating: 0.25, count: 3000), shape: [3000], name: "c_value", dataType: .float16)
    constant.attribute = [value]
    var branch = Onnx_GraphProto()
    branch.name = "then"
    branch.initializer = [.makeFloats(Array(repeating: 1, count: 2000), shape: [2000], name: "sub", dataType: .float)]
    var ifNode = Onnx_NodeProto()
    ifNode.opType = "If"
    var thenBranch = Onnx_AttributeProto()
    thenBranch.name = "then_branch"
    thenBranch.type = .graph
    thenBranch.g = branch
    ifNode.attribute = [thenBranch]
    model.graph.node.insert(contentsOf: [constant, ifNode], at: 0)

    let out = folder.appendingPathComponent("ext.onnx").path
    try ModelIO.writeModel(model, to: out, externalData: .always(thresholdBytes: 1024))
    XCTAssertEqual(try fileNames(in: folder), ["ext.onnx", "ext.onnx.data"])

    var stored = try Onnx_ModelProto(serializedBytes: Data(contentsOf: URL(fileURLWithPath: out)))
    var entries: [String: [String: String]] = [:]
    stored.forEachTensor { tensor in
      guard tensor.hasDataLocation else { return }
      XCTAssertEqual(tensor.dataLocation, .external)
      XCTAssertFalse(tensor.hasRawData)
      entries[tensor.name] = Dictionary(uniqueKeysWithValues: tensor.externalData.map { ($0.key, $0.value) })
    }
    XCTAssertEqual(entries["w"], ["location": "ext.onnx.data", "offset": "0", "length": "4608"])
    XCTAssertEqual(entries["c_value"], ["location": "ext.onnx.data", "offset": "8192", "length": "6000"])
    XCTAssertEqual(entries["sub"], ["location": "ext.onnx.data", "offset": "16384", "length": "8000"])
    XCTAssertNil(entries["b"], "64 bytes is under the threshold")
    let sideSize = try FileManager.default.attributesOfItem(atPath: out + ".data")[.size] as? Int
    XCTAssertEqual(sideSize, 16384 + 8000)

    let loaded = try ModelIO.readModel(at: out)
    XCTAssertEqual(loaded, model)

    // Same model, same policy → same bytes.
    let firstModel = try Data(contentsOf: URL(fileURLWithPath: out))
    let firstSide = try Data(contentsOf: URL(fileURLWithPath: out + ".data"))
    try ModelIO.writeModel(loaded, to: out, externalData: .always(thresholdBytes: 1024))
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), firstModel)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + ".data")), firstSide)
    XCTAssertEqual(try fileNames(in: folder), ["ext.onnx", "ext.onnx.data"])

    // And inline again.
    let inline = folder.appendingPathComponent("inline.onnx").path
    try ModelIO.writeModel(loaded, to: inline, externalData: .automatic)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: inline)), try model.serializedData())
  }

  /// `Model.save` encodes most nodes straight from the graph's records, keeping the nodes that
  /// hold tensors in the model's list where the external-data walk moves them: the bytes, model
  /// and side file, equal those of the whole protobuf model written as one.
  func testStreamedNodesWriteTheSameBytesAsTheNodeList() throws {
    var proto = makeConvModel(weightShape: [16, 8, 3, 3])
    func constant(_ name: String, count: Int) -> Onnx_NodeProto {
      var node = Onnx_NodeProto()
      node.opType = "Constant"
      node.name = name
      node.output = [name]
      var value = Onnx_AttributeProto()
      value.name = "value"
      value.type = .tensor
      value.t = .makeFloats(Array(repeating: 0.5, count: count), shape: [count], name: name + "_value", dataType: .float)
      node.attribute = [value]
      return node
    }
    func relu(_ x: String, _ y: String) -> Onnx_NodeProto {
      var node = Onnx_NodeProto()
      node.opType = "Relu"
      node.name = "relu_" + y
      node.input = [x]
      node.output = [y]
      return node
    }
    // Streamed and listed nodes alternate: the writer must interleave them in graph order. The
    // last Relu's attribute is typed INT but holds a tensor (malformed, unchecked here): it is
    // listed too, so its tensor moves out as the listed encoding moves it.
    proto.graph.node[0].output = ["c0"]
    var odd = relu("r2", "y")
    var attribute = Onnx_AttributeProto()
    attribute.name = "odd"
    attribute.type = .int
    attribute.t = .makeFloats(Array(repeating: 0.75, count: 500), shape: [500], name: "odd_value", dataType: .float)
    odd.attribute = [attribute]
    proto.graph.node += [relu("c0", "r1"), constant("k1", count: 600), relu("r1", "r2"), constant("k2", count: 40), odd]
    let model = try Model(serializedData: try proto.serializedData())
    XCTAssertEqual(model.graph.nodeCount, 6)

    for (name, policy) in [("inline", ExternalDataPolicy.automatic), ("side", .always(thresholdBytes: 1024))] {
      // One file name in two folders: the side file's name is written in the model.
      let streamed = folder.appendingPathComponent("\(name)_streamed/m.onnx").path
      let listed = folder.appendingPathComponent("\(name)_listed/m.onnx").path
      for path in [streamed, listed] {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      }
      try model.save(to: streamed, externalData: policy)
      try ModelIO.writeModel(try Onnx_ModelProto(serializedBytes: try model.serializedData()), to: listed, externalData: policy)
      XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: streamed)), try Data(contentsOf: URL(fileURLWithPath: listed)), name)
      if name == "inline" {
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: streamed)), try proto.serializedData())
      } else {
        let side = try Data(contentsOf: URL(fileURLWithPath: streamed + ".data"))
        XCTAssertEqual(side, try Data(contentsOf: URL(fileURLWithPath: listed + ".data")))
        XCTAssertEqual(side.count, 12288 + 2000, "the weight, k1's and the odd attribute's tensors moved out, k2's stayed")
        XCTAssertEqual(try ModelIO.readModel(at: streamed), proto)
      }
    }
  }

  /// The sample model saved with external data by Models/make_models.py loads with its data.
  func testSampleExternalDataModelLoads() throws {
    let path = repositoryRoot.appendingPathComponent("Models/zoo/conv2d_external_data.onnx").path
    let model = try ModelIO.readModel(at: path)
    var external = 0
    var raw = try Onnx_ModelProto(serializedBytes: Data(contentsOf: URL(fileURLWithPath: path)))
    raw.forEachTensor { if $0.hasDataLocation && $0.dataLocation == .external { external += 1 } }
    XCTAssertGreaterThan(external, 0, "the sample should keep at least one tensor outside")
    for tensor in model.graph.initializer {
      XCTAssertFalse(tensor.hasDataLocation, tensor.name)
      if tensor.elementType == .float { XCTAssertEqual(try tensor.floatValues().count, tensor.elementCount) }
    }
  }

  /// Reading never modifies the input, and writing next to it (inline or with a side file) leaves
  /// the input and its side file byte-identical.
  func testInputIsNeverModified() throws {
    let input = folder.appendingPathComponent("in.onnx").path
    try ModelIO.writeModel(makeConvModel(), to: input, externalData: .always(thresholdBytes: 100))
    let before = [try Data(contentsOf: URL(fileURLWithPath: input)), try Data(contentsOf: URL(fileURLWithPath: input + ".data"))]
    let model = try ModelIO.readModel(at: input)
    for policy in [ExternalDataPolicy.automatic, .always(thresholdBytes: 0)] {
      try ModelIO.writeModel(model, to: folder.appendingPathComponent("out.onnx").path, externalData: policy)
    }
    let after = [try Data(contentsOf: URL(fileURLWithPath: input)), try Data(contentsOf: URL(fileURLWithPath: input + ".data"))]
    XCTAssertEqual(after, before)
    XCTAssertEqual(try fileNames(in: folder), ["in.onnx", "in.onnx.data", "out.onnx", "out.onnx.data"])
  }
}

extension ModelIORoundTripTests {
  /// Outputs get the permissions a plain create gives (0666 minus the umask), not the 0600 of a
  /// private temporary file.
  func testOutputPermissionsFollowTheUmask() throws {
    let mask = umask(0)
    umask(mask)
    let out = folder.appendingPathComponent("perm.onnx").path
    try ModelIO.writeModel(makeConvModel(), to: out, externalData: .always(thresholdBytes: 100))
    for path in [out, out + ".data"] {
      let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
      XCTAssertEqual(mode, 0o666 & ~Int(mask), path)
    }
  }
}

/// `message` with `extra` (encoded fields it does not know) appended to its unknown fields.
func withUnknownFields<M: SwiftProtobuf.Message>(_ message: M, _ extra: Data) throws -> M {
  try M(serializedBytes: message.serializedData() + extra)
}

/// Hand-encodes unknown fields for tests (tag + value in protobuf wire format).
struct UnknownFieldBytes {
  private(set) var bytes = Data()

  mutating func append(field: Int, varint value: UInt64) {
    appendVarint(UInt64(field << 3))
    appendVarint(value)
  }

  mutating func append(field: Int, string: String) {
    appendVarint(UInt64(field << 3 | 2))
    appendVarint(UInt64(string.utf8.count))
    bytes.append(contentsOf: string.utf8)
  }

  private mutating func appendVarint(_ value: UInt64) {
    var v = value
    while v >= 0x80 {
      bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
      v >>= 7
    }
    bytes.append(UInt8(v))
  }
}

/// `.automatic` keeps models inline until they would pass protobuf's limit, then moves every
/// tensor of at least 1 KiB to the side file (the limit is lowered here to avoid writing 2 GiB).
final class ModelIOAutomaticExternalDataTests: XCTestCase {
  func testAutomaticPolicyExternalizesOnlyPastTheLimit() throws {
    let folder = try makeTemporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let model = makeConvModel(weightShape: [16, 8, 3, 3])  // w: 4,608 bytes, b: 64 bytes
    let size = try model.serializedData().count
    let out = folder.appendingPathComponent("m.onnx").path

    try ModelIO.writeModel(model, to: out, externalData: .automatic, inlineLimitBytes: size)
    XCTAssertEqual(try fileNames(in: folder), ["m.onnx"], "exactly at the limit: inline")
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), try model.serializedData())

    try ModelIO.writeModel(model, to: out, externalData: .automatic, inlineLimitBytes: size - 1)
    XCTAssertEqual(try fileNames(in: folder), ["m.onnx", "m.onnx.data"])
    let stored = try Onnx_ModelProto(serializedBytes: Data(contentsOf: URL(fileURLWithPath: out)))
    XCTAssertEqual(stored.graph.initializer.map { $0.hasDataLocation }, [true, false], "w (4,608 B) out, b (64 B) in")
    XCTAssertEqual(try ModelIO.readModel(at: out), model)

    // Still too large with external data: refused, nothing written. Its size is that of m.onnx
    // with external data, plus 3 for the longer location "tiny.onnx.data".
    let needed = try Data(contentsOf: URL(fileURLWithPath: out)).count + 3
    let p = folder.appendingPathComponent("tiny.onnx").path
    assertThrows(
      .writeFailed(path: p, reason: "the model needs \(needed) bytes even with external data, over protobuf's limit of 100"),
      message: "cannot write '\(p)': the model needs \(needed) bytes even with external data, over protobuf's limit of 100.",
      try ModelIO.writeModel(model, to: p, externalData: .automatic, inlineLimitBytes: 100))
    XCTAssertFalse(FileManager.default.fileExists(atPath: p))
    XCTAssertFalse(FileManager.default.fileExists(atPath: p + ".data"))
  }
}
