import XCTest

@testable import ONNX

/// The graph core: handles, incremental index, name authority, invariants, validation; every
/// graph here is built in memory through the public API.
final class GraphEditingTests: XCTestCase {
  /// x ──Conv(w)──▶ c ──Relu──▶ y
  private func convRelu(irVersion: Int = 8) -> (Graph, conv: NodeID, relu: NodeID) {
    var g = Graph(irVersion: irVersion)
    g.addInput(ValueInfo(name: "x", dataType: .float, shape: [.symbolic("N"), .fixed(2), .fixed(4), .fixed(4)]))
    g.addOutput(ValueInfo(name: "y", dataType: .float, shape: nil))
    g.addInitializer(name: "w", values: [Float](repeating: 1, count: 4), shape: [2, 2, 1, 1], type: .float)
    let conv = g.append(Node(name: "conv", opType: "Conv", inputs: ["x", "w"], outputs: ["c"]))
    let relu = g.append(Node(name: "relu", opType: "Relu", inputs: ["c"], outputs: ["y"]))
    return (g, conv, relu)
  }

  func testReplaceKeepsOtherHandlesAndTheIndexInStep() {
    var (g, conv, relu) = convRelu()
    let new = g.replace(conv, with: [
      Node(name: "a", opType: "Conv", inputs: ["x", "w"], outputs: ["t"]),
      Node(name: "b", opType: "Relu", inputs: ["t"], outputs: ["c"]),
    ])
    XCTAssertFalse(g.contains(conv), "a replaced node's handle is dead")
    XCTAssertTrue(g.contains(relu))
    XCTAssertEqual(g.node(relu).name, "relu", "other handles survive the edit")
    XCTAssertEqual(g.nodes.map(\.name), ["a", "b", "relu"], "the chain takes the node's place")
    XCTAssertEqual(g.producer(of: "c"), new[1])
    XCTAssertEqual(g.consumers(of: "t"), [new[1]])
    XCTAssertEqual(g.consumers(of: "c"), [relu])
    XCTAssertEqual(g.consumers(of: "x"), [new[0]])
    XCTAssertEqual(g.invariantViolations(), [])
  }

  /// A node's wiring is what `node(_:)` says, omitted inputs and outputs included as "".
  func testWiringIsTheNodesInputsAndOutputs() {
    var (g, conv, relu) = convRelu()
    let split = g.append(Node(name: "split", opType: "Split", inputs: ["y", ""], outputs: ["", "s1"], attributes: [Attribute("axis", .int(1))]))
    for id in [conv, relu, split] {
      let (inputs, outputs) = g.wiring(id)
      XCTAssertEqual(inputs, g.node(id).inputs)
      XCTAssertEqual(outputs, g.node(id).outputs)
    }
    XCTAssertEqual(g.wiring(split).inputs, ["y", ""])
    XCTAssertEqual(g.wiring(split).outputs, ["", "s1"])
  }

  /// Numbered wiring names the same values as the wiring; a name keeps its number through edits
  /// that remove and replace its producer and readers, and new names get new numbers.
  func testNamesKeepTheirNumbersThroughEdits() {
    var (g, conv, relu) = convRelu()
    let split = g.append(Node(name: "split", opType: "Split", inputs: ["y", ""], outputs: ["", "s1"], attributes: [Attribute("axis", .int(1))]))
    func names(_ numbers: ArraySlice<Int32>) -> [String] { numbers.map { $0 < 0 ? "" : g.name(numbered: Int($0)) } }
    for id in [conv, relu, split] {
      let (inputs, outputs) = g.numberedWiring(id)
      XCTAssertEqual(names(inputs), g.wiring(id).inputs)
      XCTAssertEqual(names(outputs), g.wiring(id).outputs)
    }
    let y = g.number(of: "y"), count = g.nameCount
    XCTAssertNotNil(y)
    XCTAssertNil(g.number(of: ""))
    XCTAssertNil(g.number(of: "never used"))
    let newRelu = g.replace(relu, with: [Node(name: "relu2", opType: "Relu", inputs: ["c"], outputs: ["y"])])[0]
    g.setInput(of: split, at: 0, to: "c")
    XCTAssertEqual(g.number(of: "y"), y)
    XCTAssertEqual(g.numberedWiring(newRelu).outputs.first.map(Int.init), y)
    XCTAssertEqual(g.nameCount, count + 1, "one new name: relu2")
    XCTAssertEqual(g.name(numbered: g.number(of: "relu2")!), "relu2")
  }

  /// Handles given in any order come back in graph order, also after an insert put a node
  /// before an older one (slot numbers are not the order).
  func testInGraphOrderFollowsTheListNotTheSlots() {
    var (g, conv, relu) = convRelu()
    let early = g.insert([Node(name: "early", opType: "Identity", inputs: ["x"], outputs: ["e"])], before: conv)[0]
    XCTAssertEqual(g.inGraphOrder([relu, early, conv]), [early, conv, relu])
    XCTAssertEqual(g.inGraphOrder([relu, conv]), [conv, relu])
    XCTAssertEqual(g.inGraphOrder([relu]), [relu])
    XCTAssertEqual(g.inGraphOrder([]), [])
  }

  /// A stretch of the graph as a graph of its own: the same handles, only the initializers its
  /// nodes read, the given inputs and outputs; edits to it leave the whole graph as it was.
  func testASegmentKeepsItsNodesHandlesAndTheInitializersTheyRead() {
    var (g, conv, relu) = convRelu()
    g.addInitializer(name: "unread", values: [1, 2], shape: [2], type: .float)
    let tail = g.append(Node(name: "neg", opType: "Neg", inputs: ["y"], outputs: ["z"]))
    var part = g.segment([relu, tail], inputs: ["c"], outputs: ["z"])
    XCTAssertEqual(part.invariantViolations(), [])
    XCTAssertTrue(part.claimsTopologicalOrder)
    XCTAssertFalse(part.contains(conv))
    XCTAssertEqual(part.node(relu).name, "relu", "the whole graph's handles work in the segment")
    XCTAssertEqual(part.nodes.map(\.name), ["relu", "neg"])
    XCTAssertEqual(part.inputNames, ["c"])
    XCTAssertEqual(part.outputNames, ["z"])
    XCTAssertEqual(part.initializerNames, [])
    let convOnly = g.segment([conv], inputs: ["x"], outputs: ["c"])
    XCTAssertEqual(convOnly.initializerNames, ["w"], "only what its nodes read")
    part.replace(relu, with: [Node(name: "r2", opType: "Relu", inputs: ["c"], outputs: ["y"])])
    XCTAssertEqual(part.invariantViolations(), [])
    XCTAssertEqual(g.nodes.map(\.name), ["conv", "relu", "neg"], "the whole graph is untouched")
    XCTAssertEqual(g.node(relu).name, "relu")
  }

  func testNamesAreNeverHandedOutTwice() {
    var (g, _, _) = convRelu()
    XCTAssertEqual(g.makeName("site/a"), "site/a")
    // Adding an initializer used to rebuild the name table and forget this reservation.
    g.addInitializer(name: g.makeName("site/w"), int64s: [1], shape: [1])
    XCTAssertEqual(g.makeName("site/a"), "site/a_1")
    g.removeUnused(["site/w"])
    XCTAssertEqual(g.initializerNames, ["w"])
    XCTAssertEqual(g.makeName("site/w"), "site/w_1", "a removed value's name stays reserved")
    XCTAssertEqual(g.makeName("conv"), "conv_1", "node names are reserved")
    XCTAssertEqual(g.makeName("c"), "c_1", "value names are reserved")
  }

  func testRemoveUnusedDropsOnlyCandidatesAndWhatFedThem() {
    var g = Graph()
    g.addInput(ValueInfo(name: "x", dataType: .float, shape: [.fixed(2)]))
    g.addOutput(ValueInfo(name: "y", dataType: .float, shape: [.fixed(2)]))
    g.addInitializer(name: "shape", int64s: [2], shape: [1])
    g.addInitializer(name: "unrelated", int64s: [7], shape: [1])
    g.append(Node(name: "fill", opType: "ConstantOfShape", inputs: ["shape"], outputs: ["k"]))
    let add = g.append(Node(name: "add", opType: "Add", inputs: ["x", "k"], outputs: ["y"]))
    g.replace(add, with: [Node(name: "id", opType: "Identity", inputs: ["x"], outputs: ["y"])])
    g.removeUnused(["k"])
    XCTAssertEqual(g.nodes.map(\.name), ["id"], "the ConstantOfShape that fed only the removed value goes")
    XCTAssertEqual(g.initializerNames, ["unrelated"], "its shape goes too; an unrelated unused initializer stays")
  }

  func testIR3InitializersAreGraphInputsAndLeaveWithThem() {
    var (g, conv, _) = convRelu(irVersion: 3)
    XCTAssertEqual(g.inputs.map(\.name), ["x", "w"])
    XCTAssertEqual(g.inputNames, ["x"], "initializers are not caller inputs")
    g.replace(conv, with: [Node(name: "id", opType: "Identity", inputs: ["x"], outputs: ["c"])])
    g.removeUnused(["w"])
    XCTAssertEqual(g.inputs.map(\.name), ["x"])
  }

  func testTopologicalSortRestoresOrderAndKeepsItWhereItCan() {
    var g = Graph()
    g.addInput(ValueInfo(name: "x", dataType: .float, shape: nil))
    g.addOutput(ValueInfo(name: "z", dataType: .float, shape: nil))
    g.append(Node(name: "second", opType: "Relu", inputs: ["y"], outputs: ["z"]))
    g.append(Node(name: "free", opType: "Relu", inputs: ["x"], outputs: ["u"]))
    g.append(Node(name: "first", opType: "Relu", inputs: ["x"], outputs: ["y"]))
    XCTAssertFalse(g.claimsTopologicalOrder)
    g.topologicallySort()
    XCTAssertTrue(g.claimsTopologicalOrder)
    XCTAssertEqual(g.nodes.map(\.name), ["free", "first", "second"], "earliest ready node first")
  }

  func testValidationNamesTheFault() throws {
    func problem(_ build: (inout Graph) -> Void) -> GraphError? {
      var (g, _, _) = convRelu()
      build(&g)
      do { try g.validateStructure() } catch let e as GraphError { return e } catch { return nil }
      return nil
    }
    XCTAssertNil(problem { _ in })
    // A second definition cannot be appended (a precondition); it can only come from a file.
    var proto = convRelu().0.proto
    proto.node.append(Node(name: "dup", opType: "Relu", inputs: ["x"], outputs: ["c"]).proto)
    var read = Graph(proto: proto, irVersion: 8)
    XCTAssertThrowsError(try read.validateStructure()) {
      XCTAssertEqual($0 as? GraphError, .valueDefinedTwice(value: "c", node: "dup"))
    }
    XCTAssertEqual(problem { $0.append(Node(name: "r", opType: "Relu", inputs: ["ghost"], outputs: ["q"])) },
                   .undefinedInput(node: "r", value: "ghost"))
    XCTAssertEqual(problem { $0.addOutput(ValueInfo(name: "nowhere", dataType: .float, shape: nil)) },
                   .undefinedOutput(value: "nowhere"))
    XCTAssertEqual(problem { $0.addOutput(ValueInfo(name: "y", dataType: .float, shape: nil)) }, .duplicateOutput(value: "y"))
    XCTAssertEqual(problem { $0.append(Node(name: "m", opType: "MatMul", inputs: ["x"], outputs: ["q"])) },
                   .arity(node: "m", op: "MatMul", what: "inputs", count: 1, allowed: 2...2))
    XCTAssertEqual(problem {
      $0.append(Node(name: "p", opType: "Relu", inputs: ["b"], outputs: ["a"]))
      $0.append(Node(name: "q", opType: "Relu", inputs: ["a"], outputs: ["b"]))
    }.map { if case .cycle = $0 { true } else { false } }, true)
  }

  func testInvariantCheckSeesACorruptIndex() {
    var (g, _, _) = convRelu()
    XCTAssertEqual(g.invariantViolations(), [])
    g.index.uses[Int(g.index.id(of: "c")!)].reader = -1
    XCTAssertEqual(g.invariantViolations(), ["the index differs from one rebuilt from the graph"])
  }

  /// A value's readers stay in the order they joined, through removals of the first, middle and
  /// last of them and a node reading it twice; a removed value's name stays reserved.
  func testReadersKeepTheirOrderThroughEdits() {
    var (g, _, relu) = convRelu()
    let a = g.append(Node(name: "a", opType: "Neg", inputs: ["c"], outputs: ["na"]))
    let b = g.append(Node(name: "b", opType: "Add", inputs: ["c", "c"], outputs: ["nb"]))
    let d = g.append(Node(name: "d", opType: "Neg", inputs: ["c"], outputs: ["nd"]))
    XCTAssertEqual(g.consumers(of: "c"), [relu, a, b, b, d])
    g.remove(a)
    XCTAssertEqual(g.consumers(of: "c"), [relu, b, b, d])
    g.remove(relu)
    XCTAssertEqual(g.consumers(of: "c"), [b, b, d], "the second reader becomes the first")
    let e = g.append(Node(name: "e", opType: "Neg", inputs: ["c"], outputs: ["ne"]))
    XCTAssertEqual(g.consumers(of: "c"), [b, b, d, e])
    g.remove(b)
    g.remove(d)
    g.remove(e)
    XCTAssertEqual(g.consumers(of: "c"), [])
    XCTAssertNil(g.producer(of: "nb"))
    XCTAssertEqual(g.makeName("nb"), "nb_1", "a removed value's name stays taken")
    XCTAssertEqual(g.makeName("e"), "e_1", "so does a removed node's")
  }

  func testAModelBuiltInMemoryRoundTripsThroughBytes() throws {
    let (g, _, _) = convRelu()
    let model = Model(graph: g, opsets: ["": 13])
    let back = try Model(serializedData: try model.serializedData())
    XCTAssertEqual(back.opsets, ["": 13])
    XCTAssertEqual(back.irVersion, 8)
    XCTAssertEqual(back.graph.inputs, g.inputs, "symbolic dims survive")
    XCTAssertEqual(back.graph.outputs, g.outputs)
    XCTAssertEqual(back.graph.nodes, g.nodes)
    XCTAssertEqual(try back.graph.constant("w")?.floats(), [Float](repeating: 1, count: 4))
  }

  func testHugeConstantOfShapeIsNotFolded() throws {
    var g = Graph()
    g.addInitializer(name: "shape", int64s: [1 << 20, 1 << 20, 1 << 20], shape: [3])
    g.append(Node(name: "fill", opType: "ConstantOfShape", inputs: ["shape"], outputs: ["k"]))
    g.addInitializer(name: "neg", int64s: [-4], shape: [1])
    g.append(Node(name: "fill2", opType: "ConstantOfShape", inputs: ["neg"], outputs: ["k2"]))
    XCTAssertNil(try g.constant("k"), "2^60 elements: left to the runtime, not allocated")
    XCTAssertNil(try g.constant("k2"), "a negative dim is no constant")
  }
}
