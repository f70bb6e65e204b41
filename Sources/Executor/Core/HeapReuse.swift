#if canImport(Glibc)
import Glibc
#endif

/// Keeps freed tensor buffers in the process heap, for the next run to reuse.
///
/// Every run allocates its intermediates afresh (hundreds of MB per PP-OCR det image). glibc
/// serves blocks above its mmap threshold (128 KiB, rising to the largest freed block) with a
/// fresh mapping and trims the heap top past 2× that: each run then faults in and zeroes its
/// pages anew (≈ 8% of det's CPU in the kernel). Raising both keeps the freed memory mapped:
/// no faults after the first run, and the peak stays the peak of live buffers (det +3% RSS:
/// free blocks no longer merge with the OS). Process-wide, so a program opts in
/// (`Executor.keepFreedMemoryForReuse()`; onnx-rstd and bench-executor do at start): a library
/// must not change its host's allocator behind its back, and the heap is then never trimmed.
enum HeapReuse {
  /// Blocks up to this size come from the heap (glibc's largest allowed mmap threshold).
  static let mmapThreshold: Int32 = 32 << 20

  #if canImport(Glibc)
  /// A function of <malloc.h>, which Swift's Glibc module leaves out: looked up by name.
  static func mallocFunction<F>(_ name: String, as type: F.Type) -> F? {
    dlsym(dlopen(nil, RTLD_NOW), name).map { unsafeBitCast($0, to: type) }
  }

  /// `int malloc_trim(size_t pad)`.
  static let mallocTrim = mallocFunction("malloc_trim", as: (@convention(c) (Int) -> Int32).self)
  #endif

  static let configured: Bool = {
    #if canImport(Glibc)
    guard let mallopt = mallocFunction("mallopt", as: (@convention(c) (Int32, Int32) -> Int32).self) else { return false }
    // <malloc.h>: M_TRIM_THRESHOLD −1 (free heap top kept before returning it), M_MMAP_THRESHOLD −3.
    return mallopt(-3, mmapThreshold) == 1 && mallopt(-1, Int32.max) == 1
    #else
    return false
    #endif
  }()
}

extension Executor {
  /// Keeps freed tensor buffers mapped in this process's heap for the next run to reuse
  /// (`HeapReuse`): faster repeated runs at the price of never returning freed heap memory to
  /// the system. Process-wide and irreversible; call once at program start. Results are the
  /// same bits either way. Returns whether the allocator accepted the settings (false off glibc).
  @discardableResult
  public static func keepFreedMemoryForReuse() -> Bool { HeapReuse.configured }

  /// Returns the heap's free memory to the system (`malloc_trim`), between phases of a program
  /// that otherwise keeps it (`keepFreedMemoryForReuse`): what one phase freed on worker
  /// threads' heaps is not reused by the next phase's allocations from other threads, and would
  /// stay resident. Costs a walk over the heaps; nothing happens off glibc.
  public static func returnFreedMemory() {
    #if canImport(Glibc)
    _ = HeapReuse.mallocTrim?(0)
    #endif
  }
}
