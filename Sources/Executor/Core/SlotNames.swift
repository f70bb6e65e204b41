import Foundation

/// The value name of each slot of a plan, and the slot of a name. The name → slot table is built
/// on first use: only runs that observe values or resume from given ones look names up, and for
/// a plan of 10⁵ values the table is megabytes the plain runs (the output check's) never read.
final class SlotNames: @unchecked Sendable {  // the table is built and read under `lock`
  /// Slot → name.
  let names: [String]
  private var slots: [String: Int]?
  private let lock = NSLock()

  init(_ names: [String]) { self.names = names }

  subscript(slot: Int) -> String { names[slot] }

  /// The slot holding `name`, if any.
  func slot(of name: String) -> Int? {
    lock.lock()
    defer { lock.unlock() }
    if slots == nil {
      // Each name has one slot; were one listed twice, the first slot answers.
      slots = Dictionary(zip(names, names.indices), uniquingKeysWith: { first, _ in first })
    }
    return slots![name]
  }
}
