extension Graph {
  /// Restores topological order, moving nodes only when needed: among the nodes whose inputs are
  /// all available, the one earliest in the current order goes first (Kahn's algorithm with a
  /// heap keyed on position). Nodes on a cycle keep their relative order at the end.
  /// - Complexity: O(n + e) when already sorted, O((n + e) log n) otherwise.
  public mutating func topologicallySort() {
    if isTopologicallyOrdered {
      claimsTopologicalOrder = true
      return
    }
    let order = orderedSlots
    var position = [Int: Int]()
    for (i, s) in order.enumerated() { position[s] = i }
    // Unmet inputs per node: values produced by another top-level node (outer-scope names and
    // graph inputs never block).
    var waiting = [Int](repeating: 0, count: order.count)
    var readers: [Int: [Int]] = [:]  // producer position → reader positions, once per input
    for (i, s) in order.enumerated() {
      for x in Set(inputIDs(record(s))) where x != noName {
        // A node reading its own output waits forever: a cycle of one.
        guard let p = index.producer(of: x), let pp = position[p.raw] else { continue }
        waiting[i] += 1
        readers[pp, default: []].append(i)
      }
    }
    var heap = MinHeap<Int>()
    for i in order.indices where waiting[i] == 0 { heap.push(i) }
    var sorted: [Int] = []
    sorted.reserveCapacity(order.count)
    while let i = heap.pop() {
      sorted.append(i)
      for r in readers[i] ?? [] {
        waiting[r] -= 1
        if waiting[r] == 0 { heap.push(r) }
      }
    }
    let placed = Set(sorted)
    sorted += order.indices.filter { !placed.contains($0) }
    relink(sorted.map { order[$0] })
    claimsTopologicalOrder = placed.count == order.count
    checkInvariantsIfEnabled("topological sort")
  }

  /// Relinks the node slots in `slots` order.
  private mutating func relink(_ slots: [Int]) {
    firstSlot = slots.first ?? -1
    lastSlot = slots.last ?? -1
    for (k, s) in slots.enumerated() {
      previousSlot[s] = k > 0 ? slots[k - 1] : -1
      nextSlot[s] = k + 1 < slots.count ? slots[k + 1] : -1
    }
  }
}
