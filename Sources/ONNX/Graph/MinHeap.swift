/// A binary min-heap: the smallest element first. Used by the topological sort to keep the
/// current order wherever dependencies allow.
struct MinHeap<Element: Comparable> {
  private var items: [Element] = []

  var isEmpty: Bool { items.isEmpty }

  /// - Complexity: O(log n).
  mutating func push(_ x: Element) {
    items.append(x)
    var i = items.count - 1
    while i > 0 {
      let parent = (i - 1) / 2
      guard items[i] < items[parent] else { break }
      items.swapAt(i, parent)
      i = parent
    }
  }

  /// Removes and returns the smallest element, nil when empty.
  /// - Complexity: O(log n).
  mutating func pop() -> Element? {
    guard !items.isEmpty else { return nil }
    items.swapAt(0, items.count - 1)
    let top = items.removeLast()
    var i = 0
    while true {
      let l = 2 * i + 1, r = l + 1
      var m = i
      if l < items.count && items[l] < items[m] { m = l }
      if r < items.count && items[r] < items[m] { m = r }
      if m == i { break }
      items.swapAt(i, m)
      i = m
    }
    return top
  }
}
