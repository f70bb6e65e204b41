/// Calls `body(i)` for every `i` in `0..<count` on at most `threads` threads.
///
/// Callers split work into pieces that depend on the shapes only, never on `threads`, and
/// each piece writes its own part of the output, so results are bit-identical for any count.
/// Runs on the persistent `WorkerPool` (or on the caller alone if the pool is in use).
func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
  if count <= 0 { return }
  let workers = min(threads, count)
  if let recorder = ScheduleRecorder.current {
    recorder.record(count, workers: workers, body)
    return
  }
  if workers <= 1 || !WorkerPool.shared.run(count, workers: workers, body) {
    for i in 0..<count { body(i) }
  }
}

/// Elements per piece of the elementwise kernels: the split depends on the count only. Small
/// enough that 2 threads get near-equal shares of a ResNet stage-4 tensor (100 352 values).
let elementwisePiece = 1 << 13

/// Elements below which an elementwise kernel runs on one thread (waking a second costs more).
let elementwiseParallelMinimum = 1 << 16

/// `v.map(f)`, in fixed pieces on up to `threads` threads (same bits for any count).
func parallelMap(_ v: [Float], threads: Int, _ f: (Float) -> Float) -> [Float] {
  let n = v.count
  if threads <= 1 || n < elementwiseParallelMinimum { return v.map(f) }
  return [Float](unsafeUninitializedCapacity: n) { out, initialized in
    v.withUnsafeBufferPointer { src in
      parallelFor((n + elementwisePiece - 1) / elementwisePiece, threads: threads) { c in
        for i in (c * elementwisePiece)..<min(n, (c + 1) * elementwisePiece) { out[i] = f(src[i]) }
      }
    }
    initialized = n
  }
}

/// `zip(a, b).map(f)` for equal counts, in fixed pieces on up to `threads` threads.
func parallelZip(_ a: [Float], _ b: [Float], threads: Int, _ f: (Float, Float) -> Float) -> [Float] {
  let n = a.count
  if threads <= 1 || n < elementwiseParallelMinimum { return zip(a, b).map(f) }
  return [Float](unsafeUninitializedCapacity: n) { out, initialized in
    a.withUnsafeBufferPointer { pa in
      b.withUnsafeBufferPointer { pb in
        parallelFor((n + elementwisePiece - 1) / elementwisePiece, threads: threads) { c in
          for i in (c * elementwisePiece)..<min(n, (c + 1) * elementwisePiece) { out[i] = f(pa[i], pb[i]) }
        }
      }
    }
    initialized = n
  }
}
