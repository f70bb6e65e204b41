import XCTest

@testable import Executor

/// Heap reuse is the program's choice (`Executor.keepFreedMemoryForReuse()`), not a side effect
/// of compiling a model.
final class HeapReuseTests: XCTestCase {
  func testTheAllocatorAcceptsTheSettingsOnGlibc() {
    #if canImport(Glibc)
    XCTAssertTrue(Executor.keepFreedMemoryForReuse())
    // Idempotent: the settings are applied once per process.
    XCTAssertTrue(Executor.keepFreedMemoryForReuse())
    #else
    XCTAssertFalse(Executor.keepFreedMemoryForReuse())
    #endif
  }
}
