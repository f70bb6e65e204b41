import CLAPACK
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `body` applied to every item, concurrently, results in input order.
///
/// Uses every core (`DispatchQueue.concurrentPerform`). OpenBLAS is pinned to one thread for
/// the duration, so each item runs the same single-threaded BLAS/LAPACK code whatever the
/// worker count, and results are bit-identical with 1 or N workers.
///
/// - Parameters:
///   - items: The inputs.
///   - body: A function safe to call from several threads at once.
/// - Returns: `items.map(body)`.
/// - Throws: The error of the lowest-indexed item that threw.
/// - Complexity: Σ cost(body) / workers, plus O(items.count).
public func parallelMap<T, R>(_ items: [T], _ body: (T) throws -> R) throws -> [R] {
  try parallelMap(items, workers: System.coreCount, body)
}

/// `body` applied to every item with at most `workers` threads, results in input order.
///
/// Workers take the next unclaimed item from a shared counter, so a few large items do not
/// leave a worker idle; each item's result depends only on the item, so the schedule does not
/// change the bits. OpenBLAS is pinned to one thread meanwhile (its previous thread count is
/// restored afterwards).
///
/// - Parameters:
///   - items: The inputs.
///   - workers: The number of threads (at least 1).
///   - body: A function safe to call from several threads at once.
/// - Returns: `items.map(body)`.
/// - Throws: The error of the lowest-indexed item that threw.
/// - Complexity: Σ cost(body) / workers, plus O(items.count).
public func parallelMap<T, R>(_ items: [T], workers: Int, _ body: (T) throws -> R) throws -> [R] {
  if items.isEmpty { return [] }
  let threads = max(1, min(workers, items.count))
  let previous = openblas_get_num_threads()
  openblas_set_num_threads(1)
  defer { openblas_set_num_threads(previous) }
  var results = [Result<R, Error>?](repeating: nil, count: items.count)
  results.withUnsafeMutableBufferPointer { slots in
    let base = slots.baseAddress!
    withoutActuallyEscaping(body) { body in
      let next = Atomic<Int>(0)
      DispatchQueue.concurrentPerform(iterations: threads) { _ in
        while true {
          let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
          if i >= items.count { break }
          (base + i).pointee = Result { try body(items[i]) }
        }
      }
    }
  }
  return try results.map { try $0!.get() }
}

/// Host facts used for parallelism.
enum System {
  /// The number of active processors.
  static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
