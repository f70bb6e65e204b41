import Foundation
internal import ONNXProto

extension Graph {
  /// Feeds everything the graph holds into `hasher`: its header, its nodes in order with their
  /// slots (so equal fingerprints mean equal `NodeID`s too) and its initializers with every byte.
  func fingerprint(into hasher: inout Hasher) {
    hasher.combine(irVersion)
    hasher.combine(header)
    var s = firstSlot
    while s >= 0 {
      hasher.combine(s)
      hasher.combine(nodeSlots[s]!)
      s = nextSlot[s]
    }
    for (slot, tensor) in initializerSlots.enumerated() {
      guard var t = tensor else { continue }
      hasher.combine(slot)
      // A message's hash reads only the first 80 bytes of a `bytes` field: the bytes go in whole.
      let raw = t.rawData
      t.rawData = Data()
      hasher.combine(t)
      raw.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
  }
}

extension Model {
  /// A hash of everything the model holds (graph, opsets, metadata, every weight byte): equal
  /// for equal models within one process (the hasher is seeded per process, so compare
  /// fingerprints taken by the same run only). Costs one pass over the weights.
  public func contentFingerprint() -> Int {
    var hasher = Hasher()
    hasher.combine(proto)  // without its graph, which lives in `graph`
    graph.fingerprint(into: &hasher)
    return hasher.finalize()
  }
}
