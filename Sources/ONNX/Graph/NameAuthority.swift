/// Hands out names no one else in the graph uses; a reservation lasts for the life of the graph,
/// whatever is added or removed meanwhile, so a name is never handed out twice.
struct NameAuthority {
  private var used: Set<String> = []

  /// Marks `name` as taken (a no-op when it already is).
  mutating func reserve(_ name: String) {
    if !name.isEmpty { used.insert(name) }
  }

  /// Makes room for `count` more names without rehashing.
  mutating func reserveCapacity(more count: Int) { used.reserveCapacity(used.count + count) }

  /// Whether `name` is taken.
  func isReserved(_ name: String) -> Bool { used.contains(name) }

  /// `base` when free, else the first free `base_1`, `base_2`, ...; reserves the result.
  ///
  /// Names depend only on what was reserved before and the order of requests, so output bytes
  /// are deterministic.
  mutating func make(_ base: String) -> String {
    var candidate = base
    var k = 1
    // One hash per try: `insert` both checks and reserves (an emit names every node and value).
    while candidate.isEmpty || !used.insert(candidate).inserted {
      candidate = "\(base)_\(k)"
      k += 1
    }
    return candidate
  }
}
