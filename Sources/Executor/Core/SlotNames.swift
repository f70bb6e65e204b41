import Foundation

/// The value name of each slot of a plan, stored as UTF-8 in one byte array (a heap string per
/// slot was ≈ 60 bytes at 10⁵ values), and the slot of a name. The name → slot table is built on
/// first use: only runs that observe values or resume from given ones look names up, and plain
/// runs (the output check's) never need it.
final class SlotNames: @unchecked Sendable {  // the table is built and read under `lock`
  private let list: List
  private var slots: [String: Int]?
  private let lock = NSLock()

  init(_ list: List) { self.list = list }

  /// How many slots are named.
  var count: Int { list.count }

  /// The name of `slot`.
  subscript(slot: Int) -> String { list[slot] }

  /// The slot holding `name`, if any.
  func slot(of name: String) -> Int? {
    lock.lock()
    defer { lock.unlock() }
    if slots == nil {
      // Each name has one slot; were one listed twice, the first slot answers.
      slots = Dictionary((0..<list.count).map { (list[$0], $0) }, uniquingKeysWith: { first, _ in first })
    }
    return slots![name]
  }

  /// Names in slot order, as the plan numbers them.
  struct List {
    private var bytes: [UInt8] = []
    /// Slot k's name is `bytes[ends[k - 1]..<ends[k]]` (from 0 for k = 0).
    private var ends: [Int] = []

    var count: Int { ends.count }

    mutating func reserveCapacity(_ n: Int) {
      ends.reserveCapacity(n)
      bytes.reserveCapacity(n * 24)
    }

    mutating func append(_ name: String) {
      bytes.append(contentsOf: name.utf8)
      ends.append(bytes.count)
    }

    subscript(slot: Int) -> String {
      let range = (slot == 0 ? 0 : ends[slot - 1])..<ends[slot]
      return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }
  }
}
