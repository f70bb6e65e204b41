/// Name reservations: the index hands out names no one else in the graph uses; a reservation
/// lasts for the life of the graph, whatever is added or removed meanwhile, so a name is never
/// handed out twice.
extension GraphIndex {
  /// Marks `name` as taken (a no-op when it already is, or when it is "").
  mutating func reserve(_ name: String) { _ = intern(name) }

  /// Whether `name` is taken.
  func isReserved(_ name: String) -> Bool { id(of: name) != nil }

  /// `base` when free, else the first free `base_1`, `base_2`, ...; reserves the result.
  ///
  /// Names depend only on what was reserved before and the order of requests, so output bytes
  /// are deterministic.
  mutating func make(_ base: String) -> String {
    var candidate = base
    var k = 1
    while !claim(candidate) {
      candidate = "\(base)_\(k)"
      k += 1
    }
    return candidate
  }

  /// Reserves `name` when it is free, hashing it once (an emit names every node and value);
  /// false when it is taken or empty.
  private mutating func claim(_ name: String) -> Bool {
    var isNew = false
    _ = intern(name, isNew: &isNew)
    return isNew
  }
}
