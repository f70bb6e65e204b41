internal import ONNXProto

/// A node as the graph stores it: numbers into the graph's tables where a protobuf node held a
/// message, an array and a string per name of its own (≈ 450 bytes for a MatMul of a rebuilt
/// kernel; this is 24, plus 4 per input and output). The protobuf node is rebuilt when asked
/// for (`Graph.nodeProto(_:)`), field for field, so it serializes to the bytes it was read from.
struct NodeRecord {
  /// The node's name in the graph's name table (`noName`: unnamed).
  var name: NameID
  /// Its op type, domain and rarer fields (doc string, overload, metadata, unknown fields), in
  /// `Graph.nodeKinds`.
  var kind: Int32
  /// Its attributes, in `Graph.attributeLists`.
  var attributes: Int32
  /// Where its inputs, then its outputs, start in `Graph.wiring`.
  var wiring: Int32
  var inputCount: Int32
  var outputCount: Int32
}

extension Graph {
  /// The record in slot `s` (a live node).
  func record(_ s: Int) -> NodeRecord { nodeSlots[s]! }

  /// The values `r` reads, numbered (`noName` for an omitted one).
  func inputIDs(_ r: NodeRecord) -> ArraySlice<NameID> {
    wiring[Int(r.wiring)..<Int(r.wiring + r.inputCount)]
  }

  /// The values `r` writes, numbered.
  func outputIDs(_ r: NodeRecord) -> ArraySlice<NameID> {
    let start = Int(r.wiring + r.inputCount)
    return wiring[start..<start + Int(r.outputCount)]
  }

  /// The names numbered `ids` ("" for `noName`).
  func names(_ ids: ArraySlice<NameID>) -> [String] { ids.map(name) }

  /// The name numbered `id` ("" for `noName`).
  func name(_ id: NameID) -> String { id == noName ? "" : index.string(id) }

  /// The op type, domain and rarer fields of `r` (no name, wiring or attributes).
  func kind(_ r: NodeRecord) -> Onnx_NodeProto { nodeKinds[Int(r.kind)] }

  /// The attributes of `r`.
  func attributes(_ r: NodeRecord) -> [Onnx_AttributeProto] { attributeLists[Int(r.attributes)] }

  /// The protobuf node in slot `s`, as it was stored.
  func nodeProto(_ s: Int) -> Onnx_NodeProto {
    let r = record(s)
    var p = kind(r)
    p.input = names(inputIDs(r))
    p.output = names(outputIDs(r))
    if r.name != noName { p.name = name(r.name) }
    p.attribute = attributes(r)
    return p
  }

  /// Whether the node in slot `s` is of the default domain and one of `ops`.
  func isDefaultDomain(_ s: Int, oneOf ops: Set<String>) -> Bool {
    let k = kind(record(s))
    return (k.domain.isEmpty || k.domain == "ai.onnx") && ops.contains(k.opType)
  }

  /// `node` as a record: its names interned (so reserved), its kind and attributes stored once
  /// among equal ones, its wiring appended to `wiring`.
  mutating func makeRecord(_ node: consuming Onnx_NodeProto) -> NodeRecord {
    var kind = consume node
    let inputs = kind.input, outputs = kind.output, attributes = kind.attribute
    let name = index.intern(kind.name)
    kind.input = []
    kind.output = []
    kind.attribute = []
    // An empty name set explicitly is kept as such in the kind, so it is written back.
    if kind.hasName && kind.name.isEmpty { kind.name = "" } else { kind.clearName() }
    let start = wiring.count
    precondition(start + inputs.count + outputs.count <= Int(Int32.max), "a graph of more than 2³¹ wires")
    for x in inputs { wiring.append(index.intern(x)) }
    for o in outputs { wiring.append(index.intern(o)) }
    return NodeRecord(
      name: name, kind: storedKind(kind), attributes: storedAttributes(attributes), wiring: Int32(start),
      inputCount: Int32(inputs.count), outputCount: Int32(outputs.count))
  }

  /// A copy of `r` reading `inputs` instead (same outputs, kind and attributes).
  mutating func rewired(_ r: NodeRecord, inputs: [NameID]) -> NodeRecord {
    let outputs = outputIDs(r)
    precondition(wiring.count + inputs.count + outputs.count <= Int(Int32.max), "a graph of more than 2³¹ wires")
    var copy = r
    copy.wiring = Int32(wiring.count)
    copy.inputCount = Int32(inputs.count)
    wiring += inputs
    wiring += outputs
    return copy
  }

  private mutating func storedKind(_ kind: Onnx_NodeProto) -> Int32 {
    Graph.storeOnce(kind, in: &nodeKinds, numbered: &nodeKindIDs)
  }

  /// Lists of numbers and strings alone are shared among equal ones (every 3×3 Conv's
  /// `kernel_shape` and `pads`); a list holding a tensor or graph is stored on its own, as
  /// comparing such lists could cost as much as the values.
  private mutating func storedAttributes(_ list: [Onnx_AttributeProto]) -> Int32 {
    guard Graph.holdsNumbersAndStrings(list) else {
      attributeLists.append(list)
      return Int32(attributeLists.count - 1)
    }
    return Graph.storeOnce(list, in: &attributeLists, numbered: &attributeListIDs)
  }

  /// The number of `value` in `list` (found through `numbers`), appending it when no equal one
  /// is there: few are distinct, most nodes find theirs.
  private static func storeOnce<T: Hashable>(_ value: T, in list: inout [T], numbered numbers: inout [T: Int32]) -> Int32 {
    if let k = numbers[value] { return k }
    let k = Int32(list.count)
    numbers[value] = k
    list.append(value)
    return k
  }

  /// Whether every attribute in `list` is a number, a string or a list of them, and holds no
  /// tensor or graph whatever its type says (a malformed one stays on its own, where the
  /// writer's external-data walk sees it: `NodeStream`).
  static func holdsNumbersAndStrings(_ list: [Onnx_AttributeProto]) -> Bool {
    list.allSatisfy { a in
      switch a.type {
      case .int, .ints, .float, .floats, .string, .strings:
        !a.hasT && a.tensors.isEmpty && !a.hasG && a.graphs.isEmpty && !a.hasSparseTensor && a.sparseTensors.isEmpty
      default: false
      }
    }
  }
}
