/// How an `Executor` runs.
public struct ExecutorOptions: Sendable {
  /// Worker threads for Conv, Gemm and MatMul. Default: every active core. Results are
  /// bit-identical whatever the count: work is split into pieces fixed by the shapes alone.
  public var threads: Int

  public init(threads: Int = ExecutorOptions.coreCount) {
    self.threads = max(1, threads)
  }

  /// The number of active processors.
  public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
