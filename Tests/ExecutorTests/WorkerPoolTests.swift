import Dispatch
import Foundation
import Synchronization
import XCTest

@testable import Executor

/// The persistent pool behind `parallelFor`: every index runs exactly once, regions follow
/// one another without losing a hand-off, errors come back by lowest index, helpers really run
/// pieces, and a region that finds the pool busy runs on its caller.
final class WorkerPoolTests: XCTestCase {
  private struct Failure: Error, Equatable { let index: Int }

  /// Runs one region on `pool` and returns how often each index ran.
  private func hits(_ pool: WorkerPool, count: Int, workers: Int) -> [Int] {
    let seen = Mutex([Int](repeating: 0, count: count))
    let ran = pool.run(count, workers: workers) { i in seen.withLock { $0[i] += 1 } }
    XCTAssertTrue(ran, "an idle pool took the region")
    return seen.withLock { $0 }
  }

  func testEveryIndexRunsExactlyOnceOverManyRegions() {
    let pool = WorkerPool()
    // Regions back to back (helpers still spinning), sizes around the worker counts.
    for region in 0..<3000 {
      let count = [1, 2, 3, 7, 64, 1000][region % 6], workers = [2, 3, 2, 4, 2, 2][region % 6]
      let h = hits(pool, count: count, workers: workers)
      XCTAssertEqual(h, [Int](repeating: 1, count: count), "region \(region): \(count) pieces on \(workers) workers")
      if h != [Int](repeating: 1, count: count) { return }
    }
    // After the helpers have parked: the hand-off must wake them.
    for _ in 0..<5 {
      usleep(20_000)
      XCTAssertEqual(hits(pool, count: 100, workers: 4), [Int](repeating: 1, count: 100))
    }
  }

  func testHelpersRunPiecesAlongsideTheCaller() {
    let pool = WorkerPool()
    let started = Atomic<Int>(0), threads = Mutex(Set<pthread_t>())
    // Each piece waits (up to 10 s) until both have started: only two threads can get there.
    _ = pool.run(2, workers: 2) { _ in
      threads.withLock { _ = $0.insert(pthread_self()) }
      started.wrappingAdd(1, ordering: .relaxed)
      let deadline = Date().addingTimeInterval(10)
      while started.load(ordering: .relaxed) < 2 && Date() < deadline { usleep(100) }
    }
    XCTAssertEqual(started.load(ordering: .relaxed), 2)
    XCTAssertEqual(threads.withLock { $0.count }, 2, "both pieces ran at once, on two threads")
  }

  func testLowestIndexErrorIsRethrownAfterEveryIndexRan() {
    let pool = WorkerPool()
    for _ in 0..<200 {
      let seen = Mutex([Int](repeating: 0, count: 50))
      XCTAssertThrowsError(
        try pool.run(50, workers: 2) { (i: Int) throws(Failure) in
          seen.withLock { $0[i] += 1 }
          if i % 7 == 3 { throw Failure(index: i) }
        }
      ) { XCTAssertEqual($0 as? Failure, Failure(index: 3)) }
      XCTAssertEqual(seen.withLock { $0 }, [Int](repeating: 1, count: 50))
    }
    // The pool is usable after a failed region.
    XCTAssertEqual(hits(pool, count: 10, workers: 2), [Int](repeating: 1, count: 10))
  }

  func testNestedAndConcurrentRegionsRunOnTheirCaller() {
    // parallelFor inside a piece finds the pool busy and runs inline: no deadlock, all run.
    let inner = Mutex([Int](repeating: 0, count: 8 * 16))
    parallelFor(8, threads: 2) { i in
      parallelFor(16, threads: 2) { j in inner.withLock { $0[i * 16 + j] += 1 } }
    }
    XCTAssertEqual(inner.withLock { $0 }, [Int](repeating: 1, count: 8 * 16))
    // Four threads start regions at once: whoever finds the pool busy runs alone.
    let outer = Mutex([Int](repeating: 0, count: 4 * 500))
    DispatchQueue.concurrentPerform(iterations: 4) { caller in
      for _ in 0..<20 {
        let local = Mutex([Int](repeating: 0, count: 500))
        parallelFor(500, threads: 2) { i in local.withLock { $0[i] += 1 } }
        let counts = local.withLock { $0 }
        outer.withLock { for i in 0..<500 { $0[caller * 500 + i] += counts[i] } }
      }
    }
    XCTAssertEqual(outer.withLock { $0 }, [Int](repeating: 20, count: 4 * 500))
  }
}
