import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The temporary files this process has open, kept where a signal handler can remove them.
///
/// A handler may only call async-signal-safe functions, so the paths live in a fixed table of C
/// strings allocated once (no Swift allocation, lock or lazy initialisation at signal time).
public enum TemporaryFiles {
  /// How many temporary files can be registered at once (a transaction uses at most 4).
  static let capacity = 64

  nonisolated(unsafe) private static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
    let table = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
    table.initialize(repeating: nil, count: capacity)
    return table
  }()
  private static let lock = NSLock()

  /// Allocates the table; call before installing a signal handler that uses
  /// `removeAllForSignal()`, so the handler never runs the lazy initialiser.
  public static func prepareForSignals() { _ = slots }

  /// Remembers `path` until `unregister`; returns its slot, or `nil` when the table is full (the
  /// file is then only removed by normal cleanup, not on a signal).
  static func register(_ path: String) -> Int? {
    lock.lock()
    defer { lock.unlock() }
    guard let free = (0..<capacity).first(where: { slots[$0] == nil }) else { return nil }
    slots[free] = strdup(path)
    return free
  }

  /// Forgets the path in `slot`.
  static func unregister(_ slot: Int?) {
    guard let slot else { return }
    lock.lock()
    defer { lock.unlock() }
    let path = slots[slot]
    slots[slot] = nil  // cleared before it is freed, so a handler never reads freed memory
    free(path)
  }

  /// Unlinks every registered temporary file. Async-signal-safe: only reads the table and calls
  /// `unlink`.
  public static func removeAllForSignal() {
    for i in 0..<capacity {
      if let path = slots[i] { unlink(path) }
    }
  }
}
