/// How an `Executor` runs.
public struct ExecutorOptions: Sendable {
  /// Worker threads for Conv, Gemm and MatMul. Default: every active core. Results are
  /// bit-identical whatever the count: work is split into pieces fixed by the shapes alone.
  public var threads: Int

  /// The most elements a tensor whose shape comes from data (Reshape, Expand, Tile, Pad,
  /// Resize, ConstantOfShape) may hold; a larger one fails the run. Default
  /// `defaultMaxElements` (2³², 16 GiB of Float).
  public var maxElements: Int

  /// Whether constant folding keeps constants that only replicate smaller ones (a Tile of a
  /// small weight, as kron stores its factors), as runtimes do at load. Off, those copies are
  /// made again in each run instead, and the plan does not hold them. Default true; the output
  /// check, which runs each model a few times, turns it off.
  public var foldsReplicatedConstants: Bool

  public init(
    threads: Int = ExecutorOptions.coreCount, maxElements: Int = ExecutorOptions.defaultMaxElements,
    foldsReplicatedConstants: Bool = true
  ) {
    self.threads = max(1, threads)
    self.maxElements = max(1, maxElements)
    self.foldsReplicatedConstants = foldsReplicatedConstants
  }

  public static let defaultMaxElements = 1 << 32

  /// The number of active processors.
  public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
