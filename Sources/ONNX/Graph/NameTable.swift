import Foundation

/// The names of a graph, each stored once as UTF-8 in one byte array and numbered in the order
/// they were first seen. A `[String: Int32]` table with a `[String]` beside it cost ≈ 110 bytes
/// per name (a heap string, its hash entry, its array slot); this costs the name's bytes and
/// 12 more (its end offset and, at most half full, two hash slots). A 200,000-node graph has
/// ≈ 430,000 names.
///
/// Numbers depend only on the order of first use, never on hash values, so output built from
/// them is deterministic although the hash is seeded per process.
struct NameTable {
  /// Every name's bytes, one after the other.
  private var bytes: [UInt8] = []
  /// Name k is `bytes[ends[k - 1]..<ends[k]]` (from 0 for k = 0).
  private var ends: [UInt32] = []
  /// Open addressing with linear probing: a name's number, or -1; the count is a power of two
  /// at least twice the names'.
  private var slots: [Int32] = []

  /// How many names are numbered.
  var count: Int { ends.count }

  /// The name numbered `id`.
  func string(_ id: NameID) -> String {
    let range = self.range(Int(id))
    return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
  }

  /// The UTF-8 length of the name numbered `id`.
  func byteCount(_ id: NameID) -> Int { range(Int(id)).count }

  /// The number of `name`, if it has one.
  func id(of name: String) -> NameID? {
    guard !slots.isEmpty else { return nil }
    return Self.withUTF8(name) { key in
      let (slot, found) = find(key, hash: Self.hash(key))
      return found ? slots[slot] : nil
    }
  }

  /// The number of `name`, numbering it when new (`isNew`).
  mutating func intern(_ name: String, isNew: inout Bool) -> NameID {
    if 2 * (count + 1) > slots.count { rehash(minimumCapacity: count + 1) }
    return Self.withUTF8(name) { key in
      let (slot, found) = find(key, hash: Self.hash(key))
      isNew = !found
      guard !found else { return slots[slot] }
      precondition(count < Int(Int32.max) && bytes.count + key.count <= Int(UInt32.max), "more names than a graph can hold")
      bytes.append(contentsOf: key)
      ends.append(UInt32(bytes.count))
      slots[slot] = Int32(count - 1)
      return Int32(count - 1)
    }
  }

  /// Makes room for `more` names of about `averageBytes` bytes each without regrowing.
  mutating func reserveCapacity(_ more: Int, averageBytes: Int = 24) {
    ends.reserveCapacity(count + more)
    bytes.reserveCapacity(bytes.count + more * averageBytes)
    if 2 * (count + more) > slots.count { rehash(minimumCapacity: count + more) }
  }

  /// Whether every name is found under its own number (the table is one-to-one).
  var isConsistent: Bool {
    (0..<count).allSatisfy { id(of: string(NameID($0))) == NameID($0) } && Set((0..<count).map { string(NameID($0)) }).count == count
  }

  private func range(_ k: Int) -> Range<Int> { (k == 0 ? 0 : Int(ends[k - 1]))..<Int(ends[k]) }

  /// The slot holding `key`, or the empty slot where it would go.
  private func find(_ key: UnsafeBufferPointer<UInt8>, hash: Int) -> (slot: Int, found: Bool) {
    let mask = slots.count - 1
    var slot = hash & mask
    return bytes.withUnsafeBufferPointer { stored in
      while true {
        let k = slots[slot]
        if k < 0 { return (slot, false) }
        let r = range(Int(k))
        if r.count == key.count && (key.isEmpty || memcmp(stored.baseAddress! + r.lowerBound, key.baseAddress!, key.count) == 0) {
          return (slot, true)
        }
        slot = (slot + 1) & mask
      }
    }
  }

  private mutating func rehash(minimumCapacity: Int) {
    var capacity = max(16, slots.count)
    while capacity < 2 * minimumCapacity { capacity *= 2 }
    slots = [Int32](repeating: -1, count: capacity)
    let mask = capacity - 1
    bytes.withUnsafeBufferPointer { stored in
      for k in 0..<count {
        let r = range(k)
        var slot = Self.hash(UnsafeBufferPointer(rebasing: stored[r])) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(k)
      }
    }
  }

  private static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
    var h = Hasher()
    h.combine(bytes: UnsafeRawBufferPointer(key))
    return h.finalize()
  }

  private static func withUTF8<R>(_ name: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    if let r = name.utf8.withContiguousStorageIfAvailable(body) { return r }
    return Array(name.utf8).withUnsafeBufferPointer(body)
  }
}
