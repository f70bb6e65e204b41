import Foundation
internal import ONNXProto
internal import SwiftProtobuf

extension Graph {
  /// Feeds everything the graph holds into `hasher`: its header, its nodes in order with their
  /// slots (so equal fingerprints mean equal `NodeID`s too) and its initializers, every byte.
  /// Messages go in serialized: their own hash reads only the first 80 bytes of a `bytes` field
  /// (a Constant node's weight, a sparse initializer's values).
  func fingerprint(into hasher: inout Hasher) throws {
    hasher.combine(irVersion)
    try Graph.combine(header, into: &hasher)
    var s = firstSlot
    while s >= 0 {
      hasher.combine(s)
      try Graph.combine(nodeProto(s), into: &hasher)
      s = nextSlot[s]
    }
    for (slot, tensor) in initializerSlots.enumerated() {
      guard var t = tensor else { continue }
      hasher.combine(slot)
      // The weight's bytes go in as they are, not through a serialized copy of them.
      let raw = t.rawData
      t.rawData = Data()
      try Graph.combine(t, into: &hasher)
      raw.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
  }

  static func combine(_ message: some SwiftProtobuf.Message, into hasher: inout Hasher) throws {
    let bytes: [UInt8] = try message.serializedBytes()
    hasher.combine(bytes.count)
    bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
  }
}

extension Model {
  /// A hash of everything the model holds (graph, opsets, metadata, every weight byte): equal
  /// for equal models within one process (the hasher is seeded per process, so compare
  /// fingerprints taken by the same run only). Costs one pass over the weights.
  /// - Throws: when a part does not serialize (as `save` would).
  public func contentFingerprint() throws -> Int {
    var hasher = Hasher()
    try Graph.combine(proto, into: &hasher)  // without its graph, which lives in `graph`
    try graph.fingerprint(into: &hasher)
    return hasher.finalize()
  }
}
