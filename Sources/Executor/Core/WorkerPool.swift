import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Persistent helper threads for `parallelFor`: one region hands its pieces to threads that
/// are already running, instead of a `DispatchQueue.concurrentPerform` per region (a ResNet-50
/// run has ~110 regions, each waking and parking libdispatch workers).
///
/// The calling thread is participant 0; helpers 1..<workers join it. Pieces are claimed from a
/// shared counter, so each index runs exactly once; which thread runs it does not change the
/// bits, because callers cut pieces from the shapes only and each piece writes its own output.
/// Between regions a helper spins for `spinNanoseconds` (the serial gaps between steps are
/// mostly shorter), then parks on a condition variable and costs nothing. One region at a
/// time: a region started while another runs (another executor, or a piece that itself calls
/// `parallelFor`) runs on its caller's thread alone — same bits, no deadlock.
final class WorkerPool: @unchecked Sendable {
  /// The pool `parallelFor` uses; helpers are created on first use and live for the process.
  static let shared = WorkerPool()

  /// How long an idle thread polls before parking: longer than most gaps between regions of
  /// a run (so a run's regions pay no wake-up), short enough to give a busy machine its core back.
  static let spinNanoseconds: UInt64 = 100_000

  /// One helper thread: its mailbox (the region number it was handed) and its parking spot.
  private final class Helper: @unchecked Sendable {
    let ticket = Atomic<Int>(0)
    let parked = Atomic<Bool>(false)
    let lock = Lock()
    let pool: WorkerPool
    init(pool: WorkerPool) { self.pool = pool }
  }

  private let busy = Atomic<Bool>(false)
  private let remaining = Atomic<Int>(0)
  private let callerParked = Atomic<Bool>(false)
  private let doneLock = Lock()
  private var helpers: [Helper] = []
  private var region = 0
  // The current region, written before its helpers' tickets are stored and read after.
  private var body: ((Int) throws -> Void)?
  private var count = 0
  private let next = Atomic<Int>(0)
  private let firstError = Mutex<(index: Int, error: any Error)?>(nil)

  /// Runs `body(i)` for every `i` in `0..<count` on the caller and up to `workers - 1` helpers;
  /// returns when every call has returned. If calls throw, every index still runs once and the
  /// error of the lowest index that threw is rethrown.
  ///
  /// - Returns: false, having run nothing, if another region holds the pool (the caller then
  ///   runs the region itself).
  func run<E: Error>(_ count: Int, workers: Int, _ body: (Int) throws(E) -> Void) throws(E) -> Bool {
    guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
    defer { busy.store(false, ordering: .releasing) }
    let participants = min(workers, count)
    while helpers.count < participants - 1 { startHelper() }
    withoutActuallyEscaping(body) { body in
      self.body = body
      self.count = count
      next.store(0, ordering: .relaxed)
      firstError.withLock { $0 = nil }
      remaining.store(participants - 1, ordering: .sequentiallyConsistent)
      region += 1
      for h in helpers.prefix(participants - 1) {
        h.ticket.store(region, ordering: .sequentiallyConsistent)
        if h.parked.load(ordering: .sequentiallyConsistent) { h.lock.signal() }
      }
      work()
      waitForHelpers()
      self.body = nil
    }
    if let first = firstError.withLock({ $0 }) { throw first.error as! E }  // only `body` throws
    return true
  }

  /// Claims and runs pieces until none is left, keeping the lowest-index failure.
  private func work() {
    let body = self.body!, count = self.count
    while true {
      let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
      if i >= count { return }
      do { try body(i) } catch {
        firstError.withLock { first in if first.map({ i < $0.index }) ?? true { first = (i, error) } }
      }
    }
  }

  private func waitForHelpers() {
    if Self.spin(until: { remaining.load(ordering: .acquiring) == 0 }) { return }
    callerParked.store(true, ordering: .sequentiallyConsistent)
    doneLock.wait(until: { remaining.load(ordering: .sequentiallyConsistent) == 0 })
    callerParked.store(false, ordering: .relaxed)
  }

  private func helperLoop(_ h: Helper) {
    var seen = 0
    while true {
      if !Self.spin(until: { h.ticket.load(ordering: .acquiring) != seen }) {
        h.parked.store(true, ordering: .sequentiallyConsistent)
        h.lock.wait(until: { h.ticket.load(ordering: .sequentiallyConsistent) != seen })
        h.parked.store(false, ordering: .relaxed)
      }
      seen = h.ticket.load(ordering: .acquiring)
      work()
      if remaining.subtract(1, ordering: .sequentiallyConsistent).newValue == 0,
        callerParked.load(ordering: .sequentiallyConsistent)
      {
        doneLock.signal()
      }
    }
  }

  private func startHelper() {
    let h = Helper(pool: self)
    helpers.append(h)
    let context = Unmanaged.passRetained(h).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
      let h = Unmanaged<Helper>.fromOpaque(raw!).takeRetainedValue()
      h.pool.helperLoop(h)
      return nil
    }, context)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    pthread_detach(thread)
  }

  /// Polls `ready` for up to `spinNanoseconds`; true once it holds.
  private static func spin(until ready: () -> Bool) -> Bool {
    let start = monotonicNs()
    while true {
      for _ in 0..<64 where ready() { return true }
      if monotonicNs() - start > spinNanoseconds { return ready() }
    }
  }

  private static func monotonicNs() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
  }
}

/// A mutex and condition variable at a fixed address (pthread objects must not move).
private final class Lock: @unchecked Sendable {
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

  init() {
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(cond, nil)
  }

  deinit {
    pthread_cond_destroy(cond)
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
    cond.deallocate()
  }

  /// Sleeps until `ready` holds; the waker changes what `ready` reads, then calls `signal`.
  func wait(until ready: () -> Bool) {
    pthread_mutex_lock(mutex)
    while !ready() { pthread_cond_wait(cond, mutex) }
    pthread_mutex_unlock(mutex)
  }

  func signal() {
    pthread_mutex_lock(mutex)
    pthread_cond_signal(cond)
    pthread_mutex_unlock(mutex)
  }
}
