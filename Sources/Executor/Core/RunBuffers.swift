/// Small float buffers a run has freed, lent again to the same run's next outputs of the same size.
///
/// Without it a run's short-lived outputs come from malloc's general bins. After a rewrite those
/// are full of small holes (the replaced kernels, freed between live neighbours, their inner
/// pages already handed back by `malloc_trim`), and each hole a run's output lands in faults a
/// page or two back in: the same run then costs up to ≈ 24 MB more resident memory or not,
/// depending on the heap's layout (docs/benchmarks.md, "Why two peaks for cp and tucker2").
/// Lending a chain's outputs by exact size keeps them in a few buffers whatever the layout.
///
/// Bounded: at most `maxEntries` buffers of at most `maxBufferBytes` each (1 MiB), oldest dropped
/// first. Value semantics keep it safe: a buffer still shared elsewhere (an observed value, a
/// reshaped view, a constant) is copied by its first write, never written in place. Only ops
/// that write every element of their output take from it, so results are the same bits. One per
/// run, used only by the thread stepping through the plan (ops take before they fan out).
final class RunBuffers: @unchecked Sendable {
  /// Most buffers held at once.
  static let maxEntries = 16
  /// Largest buffer kept: the holes the lending avoids are small (a replaced kernel's 9 KB), and
  /// a large buffer held across steps pins memory that freed neighbours would otherwise merge
  /// with (lending buffers up to 8 MiB, PP-OCR det's peak at 736² grew by 14 MB; up to 1 MiB,
  /// by 10 MB; up to 64 KiB, by nothing measurable).
  static let maxBufferBytes = 64 << 10

  private var held: [[Float]] = []

  /// Keeps `buffer` (a value the run no longer reads) for a later output of its size, unless it
  /// is larger than `maxBufferBytes`.
  func recycle(_ buffer: [Float]) {
    guard buffer.count > 0, buffer.count * MemoryLayout<Float>.stride <= Self.maxBufferBytes else { return }
    held.append(buffer)
    if held.count > Self.maxEntries { held.removeFirst() }
  }

  /// A held buffer of exactly `count` floats (its contents are stale: the caller overwrites
  /// every element), the most recently freed first; nil when none is held.
  func take(_ count: Int) -> [Float]? {
    held.lastIndex(where: { $0.count == count }).map { held.remove(at: $0) }
  }
}
