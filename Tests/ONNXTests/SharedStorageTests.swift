import Foundation
import ONNXProto
import XCTest

@testable import ONNX

/// FLOAT initializers are decoded once and their `raw_data` is a view of the values readers get
/// (`SharedFloats`); equal small attributes share one storage (`Graph.attributePool`). Neither
/// may change a written byte.
final class SharedStorageTests: XCTestCase {
  private var folder: URL!

  override func setUpWithError() throws { folder = try makeTemporaryFolder() }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

  private func address(_ values: [Float]) -> UnsafeRawPointer? {
    values.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
  }

  /// x ──Conv(w, b)──▶ c ──Conv(w2)──▶ y, both 3×3 with the same `kernel_shape` and `pads`.
  private func twoConvs(irVersion: Int = 8) -> Model {
    var g = Graph(irVersion: irVersion)
    g.addInput(ValueInfo(name: "x", dataType: .float, shape: [.fixed(1), .fixed(2), .fixed(4), .fixed(4)]))
    g.addOutput(ValueInfo(name: "y", dataType: .float, shape: nil))
    g.addInitializer(name: "w", values: (0..<36).map { Float($0) * 0.25 - 3 }, shape: [2, 2, 3, 3], type: .float)
    g.addInitializer(name: "b", values: [0.5, -0.5], shape: [2], type: .float)
    g.addInitializer(name: "w2", values: (0..<36).map { Float($0) * -0.125 }, shape: [2, 2, 3, 3], type: .float16)
    let attributes = [Attribute("kernel_shape", .ints([3, 3])), Attribute("pads", .ints([1, 1, 1, 1]))]
    g.append(Node(name: "c0", opType: "Conv", inputs: ["x", "w", "b"], outputs: ["c"], attributes: attributes))
    g.append(Node(name: "c1", opType: "Conv", inputs: ["c", "w2"], outputs: ["y"], attributes: attributes))
    return Model(graph: g, opsets: ["": 13])
  }

  func testFloatInitializersHandOutTheirOwnStorage() throws {
    let model = twoConvs()
    let w = try XCTUnwrap(try model.graph.constant("w"))
    XCTAssertTrue(w.sharesGraphStorage)
    XCTAssertEqual(try w.floats(), (0..<36).map { Float($0) * 0.25 - 3 })
    let first = try w.floats(), second = try XCTUnwrap(try model.graph.constant("w")).floats()
    XCTAssertEqual(address(first), address(second), "both reads see the graph's one copy")
    guard case .floats(let fromData) = try w.data().values else { return XCTFail("w decodes to floats") }
    XCTAssertEqual(address(fromData), address(first))
    XCTAssertEqual(try w.data().shape, [2, 2, 3, 3])
    // FLOAT16 is stored rounded: its reads decode a copy.
    XCTAssertFalse(try XCTUnwrap(try model.graph.constant("w2")).sharesGraphStorage)
  }

  /// The view holds exactly the bytes the copying encoder wrote, so the file is unchanged.
  func testSharedBytesEqualTheEncodedValues() throws {
    let model = twoConvs()
    let values = (0..<36).map { Float($0) * 0.25 - 3 }
    let encoded = Onnx_TensorProto.makeFloats(values, shape: [2, 2, 3, 3], name: "w", dataType: .float)
    let slot = try XCTUnwrap(model.graph.index.initializers["w"])
    XCTAssertEqual(model.graph.initializerSlots[slot], encoded)
    XCTAssertEqual(model.graph.sharedFloats[slot], values)
  }

  /// Loading shares what it decodes, and load → save gives the same bytes.
  func testLoadedModelsShareAndRoundTripByteForByte() throws {
    let bytes = try twoConvs().serializedData()
    let loaded = try Model(serializedData: bytes)
    XCTAssertTrue(try XCTUnwrap(try loaded.graph.constant("w")).sharesGraphStorage)
    XCTAssertTrue(try XCTUnwrap(try loaded.graph.constant("b")).sharesGraphStorage)
    XCTAssertEqual(try loaded.serializedData(), bytes)
    let path = folder.appendingPathComponent("m.onnx").path
    try bytes.write(to: URL(fileURLWithPath: path))
    let fromFile = try Model.load(path: path)
    XCTAssertTrue(try XCTUnwrap(try fromFile.graph.constant("w")).sharesGraphStorage)
    let out = folder.appendingPathComponent("out.onnx").path
    try fromFile.save(to: out)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), bytes)
  }

  /// A FLOAT tensor whose raw_data does not match its dims is not shared: it fails when read,
  /// as before.
  func testMalformedFloatDataIsNotShared() throws {
    var bad = Onnx_TensorProto.makeFloats([1, 2, 3], shape: [3], name: "w", dataType: .float)
    bad.dims = [4]
    XCTAssertNil(SharedFloats.share(bad))
    // dims whose element count × 4 overflows Int (found by the fuzz slice): not shared, no trap
    var huge = bad
    huge.dims = [1 << 62]
    XCTAssertNil(SharedFloats.share(huge))
    var proto = Onnx_GraphProto()
    proto.initializer = [bad]
    let g = Graph(proto: proto, irVersion: 8)
    XCTAssertThrowsError(try g.constant("w")?.floats())
  }

  /// Removing a shared initializer drops its values with it; the invariants check the pairing.
  func testRemovedInitializersDropTheirValues() throws {
    var g = twoConvs().graph
    let slot = try XCTUnwrap(g.index.initializers["b"])
    g.remove(try XCTUnwrap(g.producer(of: "c")))
    g.removeUnused(["b"])
    XCTAssertNil(g.sharedFloats[slot])
    XCTAssertEqual(g.invariantViolations(), [])
  }

  /// Every model under Models/ goes through `Model.load` → `save` byte for byte.
  func testSampleModelsLoadAndSaveByteForByte() throws {
    let root = repositoryRoot.appendingPathComponent("Models")
    let paths = (FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? [])
      .filter { $0.hasSuffix(".onnx") }.sorted()
    XCTAssertFalse(paths.isEmpty, "no models under \(root.path)")
    for relative in paths {
      let input = root.appendingPathComponent(relative)
      let model = try Model.load(path: input.path)
      guard model.externalDataFiles.isEmpty else { continue }  // re-inlined on save: other bytes
      let out = folder.appendingPathComponent(relative.replacingOccurrences(of: "/", with: "_")).path
      try model.save(to: out)
      XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), try Data(contentsOf: input), relative)
    }
  }

  /// A node is stored as numbers into the graph's tables; what it is rebuilt from must give the
  /// bytes it was read from, presence of empty fields and fields this tool never reads included.
  func testNodesKeepEveryFieldThroughTheirRecords() throws {
    var m = try Onnx_ModelProto(serializedBytes: try twoConvs().serializedData())
    m.graph.node[0].name = ""  // set, empty: written as an empty field
    m.graph.node[0].docString = "first"
    m.graph.node[0].domain = "ai.onnx"
    m.graph.node[1].clearName()
    m.graph.node[1].overload = "o"
    var p = Onnx_StringStringEntryProto()
    p.key = "k"
    p.value = "v"
    m.graph.node[1].metadataProps = [p]
    try m.graph.node[1].merge(serializedBytes: [0xf8, 0x7f, 0x05] as [UInt8])  // field 2047: unknown
    let bytes = try m.serializedData()
    let model = try Model(serializedData: bytes)
    XCTAssertEqual(try model.serializedData(), bytes)
    // Saved, the nodes are counted from their records and encoded one at a time (`NodeStream`).
    let saved = folder.appendingPathComponent("fields.onnx")
    try model.save(to: saved.path)
    XCTAssertEqual(try Data(contentsOf: saved), bytes)
    XCTAssertEqual(model.graph.nodes.map(\.name), ["", ""])
    XCTAssertEqual(model.graph.invariantViolations(), [])
  }

  func testEqualAttributesArePooled() throws {
    let model = try Model(serializedData: try twoConvs().serializedData())
    // Two Convs with the same two attributes: one stored list, one stored kind.
    XCTAssertEqual(model.graph.attributeLists.count, 1)
    XCTAssertEqual(model.graph.nodeKinds.count, 1)
    XCTAssertEqual(Set(model.graph.nodeSlots.map { $0!.attributes }), [0])
    XCTAssertEqual(model.graph.nodes.map(\.attributes), [
      [Attribute("kernel_shape", .ints([3, 3])), Attribute("pads", .ints([1, 1, 1, 1]))],
      [Attribute("kernel_shape", .ints([3, 3])), Attribute("pads", .ints([1, 1, 1, 1]))],
    ])
  }
}
