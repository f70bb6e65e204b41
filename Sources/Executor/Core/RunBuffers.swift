/// Float buffers a run has freed, lent again to the same run's next outputs of the same size.
///
/// Without it a run's short-lived outputs come from malloc's general bins. After a rewrite those
/// are full of small holes (the replaced kernels, freed between live neighbours, their inner
/// pages already handed back by `malloc_trim`), and each hole a run's output lands in faults a
/// page or two back in: the same run then costs up to ≈ 24 MB more resident memory or not,
/// depending on the heap's layout (docs/benchmarks.md, "Why two peaks for cp and tucker2").
/// Lending a chain's outputs by exact size keeps them in a few buffers whatever the layout.
///
/// Bounded in entries and bytes, oldest dropped first, so a run holds at most `maxBytes` more
/// than it would. Value semantics keep it safe: a buffer still shared elsewhere (an observed
/// value, a reshaped view, a constant) is copied by its first write, never written in place.
/// Only ops that write every element of their output take from it, so results are the same bits.
/// One per run, used only by the thread stepping through the plan (ops take before they fan out).
final class RunBuffers: @unchecked Sendable {
  /// Most buffers held at once.
  static let maxEntries = 16
  /// Most bytes held at once; larger buffers are not kept (their memory goes back at once).
  static let maxBytes = 8 << 20

  private var held: [[Float]] = []
  private var bytes = 0

  /// Keeps `buffer` (a value the run no longer reads) for a later output of its size.
  func recycle(_ buffer: [Float]) {
    let size = buffer.count * MemoryLayout<Float>.stride
    guard buffer.count > 0, size <= Self.maxBytes else { return }
    held.append(buffer)
    bytes += size
    while held.count > Self.maxEntries || bytes > Self.maxBytes {
      bytes -= held.removeFirst().count * MemoryLayout<Float>.stride
    }
  }

  /// A held buffer of exactly `count` floats (its contents are stale: the caller overwrites
  /// every element), the most recently freed first; nil when none is held.
  func take(_ count: Int) -> [Float]? {
    guard let i = held.lastIndex(where: { $0.count == count }) else { return nil }
    bytes -= count * MemoryLayout<Float>.stride
    return held.remove(at: i)
  }
}
