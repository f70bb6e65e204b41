import XCTest

@testable import ONNX

/// The edits `--weights` uses: INT8 initializers, inserting a rebuild before a node, re-wiring
/// one input in place, and the bytes per element type.
final class GraphStorageEditingTests: XCTestCase {
  /// x ──Conv(w)──▶ c ──Relu──▶ y
  private func convRelu() -> (Graph, conv: NodeID, relu: NodeID) {
    var g = Graph()
    g.addInput(ValueInfo(name: "x", dataType: .float, shape: [.fixed(1), .fixed(2), .fixed(4), .fixed(4)]))
    g.addOutput(ValueInfo(name: "y", dataType: .float, shape: nil))
    g.addInitializer(name: "w", values: [Float](repeating: 1, count: 4), shape: [2, 2, 1, 1], type: .float)
    let conv = g.append(Node(name: "conv", opType: "Conv", inputs: ["x", "w"], outputs: ["c"], attributes: [Attribute("group", .int(1))]))
    let relu = g.append(Node(name: "relu", opType: "Relu", inputs: ["c"], outputs: ["y"]))
    return (g, conv, relu)
  }

  // x ──Conv(Cast(w8))──▶ c ──Relu──▶ y: the rebuild goes before the conv, which keeps its place
  // and attributes; the old weight becomes unused and is dropped.
  func testInsertAndSetInputRewireAWeightInPlace() throws {
    var (g, conv, relu) = convRelu()
    g.addInitializer(name: "w8", int8s: [1, -2, 3, -127], shape: [2, 2, 1, 1])
    let cast = g.insert([Node(name: "cast", opType: "Cast", inputs: ["w8"], outputs: ["wf"], attributes: [Attribute("to", .int(1))])], before: conv)
    let newConv = g.setInput(of: conv, at: 1, to: "wf")
    XCTAssertFalse(g.contains(conv), "the re-wired node has a new handle")
    XCTAssertEqual(g.nodes.map(\.name), ["cast", "conv", "relu"])
    XCTAssertEqual(g.node(newConv).inputs, ["x", "wf"])
    XCTAssertEqual(g.node(newConv).attributes, [Attribute("group", .int(1))], "everything else of the node is kept")
    XCTAssertEqual(g.consumers(of: "wf"), [newConv])
    XCTAssertEqual(g.consumers(of: "w"), [])
    XCTAssertEqual(g.producer(of: "wf"), cast[0])
    XCTAssertEqual(g.consumers(of: "c"), [relu])
    XCTAssertTrue(g.isTopologicallyOrdered)
    XCTAssertEqual(g.invariantViolations(), [])
    g.removeUnused(["w"])
    XCTAssertEqual(g.initializerNames, ["w8"])
  }

  func testInt8InitializerBytesAndBytesByType() throws {
    var (g, _, _) = convRelu()
    g.addInitializer(name: "q", int8s: [-127, 0, 5], shape: [3])
    g.addInitializer(name: "h", values: [1, 2], shape: [2], type: .float16)
    let q = try XCTUnwrap(try g.constant("q"))
    XCTAssertEqual(q.elementTypeName, "INT8")
    XCTAssertEqual(try q.data().values, .integers([-127, 0, 5]), "two's complement bytes read back")
    XCTAssertEqual(g.initializerBytesByType, ["FLOAT": 16, "INT8": 3, "FLOAT16": 4])
  }
}
