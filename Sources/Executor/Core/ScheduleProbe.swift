#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a run would take on `threads` otherwise idle cores, estimated from one run on one thread
/// — a figure that does not depend on how busy the machine is (benchmarks only).
///
/// Every `parallelFor` runs its pieces one after another, timing each in thread CPU time, and
/// schedules them as the real split would: pieces in order, each to the worker that frees first.
/// The estimate is the run's CPU time with every split region replaced by that schedule's
/// makespan. It leaves out what a second core costs (thread wake-ups, shared memory bandwidth
/// and cache), so it bounds the speed-up from above; what it shows is where work is serial or
/// badly split.
public struct ScheduleEstimate: Sendable {
  /// The workers simulated.
  public let threads: Int
  /// Thread CPU time of the whole run, on one thread.
  public let cpuMs: Double
  /// The part of `cpuMs` inside split regions.
  public let splitMs: Double
  /// Those regions' makespans on `threads` workers.
  public let makespanMs: Double

  /// CPU time outside split regions, by op type (where a second core idles), largest first.
  public let serialMsByOp: [(op: String, ms: Double)]

  /// The run's estimated time on `threads` idle cores.
  public var estimatedMs: Double { cpuMs - splitMs + makespanMs }
  /// Estimated throughput against one thread.
  public var speedup: Double { cpuMs / estimatedMs }
}

/// Collects piece times while a probe runs.
final class ScheduleRecorder: @unchecked Sendable {
  let threads: Int
  var splitNs: UInt64 = 0
  var makespanNs: UInt64 = 0
  var serialNsByOp: [String: UInt64] = [:]

  init(threads: Int) { self.threads = threads }

  @TaskLocal static var current: ScheduleRecorder?

  static func threadCPUNs() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
  }

  /// Runs one step, adding its CPU time outside split regions to its op type.
  func step<T>(_ opType: String, _ body: () throws -> T) rethrows -> T {
    let start = Self.threadCPUNs(), split = splitNs
    defer { serialNsByOp[opType, default: 0] += (Self.threadCPUNs() - start) - (splitNs - split) }
    return try body()
  }

  /// Runs `body` for `0..<count` here, timing each piece, and adds their makespan on `workers`.
  func record(_ count: Int, workers: Int, _ body: (Int) -> Void) {
    var free = [UInt64](repeating: 0, count: max(1, workers))
    for i in 0..<count {
      let start = Self.threadCPUNs()
      body(i)
      let spent = Self.threadCPUNs() - start
      splitNs += spent
      let w = free.indices.min { free[$0] < free[$1] }!
      free[w] += spent
    }
    makespanNs += free.max()!
  }
}

extension Executor {
  /// Runs the model once on this thread and estimates its time on `options.threads` idle cores
  /// (`ScheduleEstimate`). The outputs are the same bits as `run`'s.
  public func estimateSchedule(_ inputs: [String: TensorValue]) throws -> ScheduleEstimate {
    let recorder = ScheduleRecorder(threads: options.threads)
    let start = ScheduleRecorder.threadCPUNs()
    _ = try ScheduleRecorder.$current.withValue(recorder) { try run(inputs) }
    let cpu = ScheduleRecorder.threadCPUNs() - start
    return ScheduleEstimate(
      threads: options.threads, cpuMs: Double(cpu) / 1e6, splitMs: Double(recorder.splitNs) / 1e6,
      makespanMs: Double(recorder.makespanNs) / 1e6,
      serialMsByOp: recorder.serialNsByOp.map { ($0.key, Double($0.value) / 1e6) }.sorted { $0.ms > $1.ms })
  }
}
