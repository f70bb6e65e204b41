import Dispatch
import Synchronization

/// Calls `body(i)` for every `i` in `0..<count` on at most `threads` threads.
///
/// Callers split work into pieces that depend on the shapes only, never on `threads`, and
/// each piece writes its own part of the output, so results are bit-identical for any count.
func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
  if count <= 0 { return }
  let workers = min(threads, count)
  if workers <= 1 {
    for i in 0..<count { body(i) }
    return
  }
  withoutActuallyEscaping(body) { body in
    let next = Atomic<Int>(0)
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
      while true {
        let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
        if i >= count { break }
        body(i)
      }
    }
  }
}
