import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import Executor

/// A run lends the buffers it freed to its next outputs of the same size (`RunBuffers`): bounded,
/// and never at the cost of a value someone else still holds.
final class RunBuffersTests: XCTestCase {
  private func address(_ a: [Float]) -> UnsafeRawPointer? { a.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } }

  func testAFreedBufferIsLentByExactSizeMostRecentFirst() {
    let buffers = RunBuffers()
    let a = [Float](repeating: 1, count: 64), b = [Float](repeating: 2, count: 64), c = [Float](repeating: 3, count: 32)
    let (pa, pb, pc) = (address(a), address(b), address(c))
    buffers.recycle(a)
    buffers.recycle(b)
    buffers.recycle(c)
    XCTAssertNil(buffers.take(48), "no buffer of another size")
    XCTAssertEqual(buffers.take(64).flatMap(address), pb)
    XCTAssertEqual(buffers.take(64).flatMap(address), pa)
    XCTAssertNil(buffers.take(64), "each buffer is lent once")
    XCTAssertEqual(buffers.take(32).flatMap(address), pc)
  }

  func testItHoldsAtMostItsEntriesOfAtMostItsSizeDroppingTheOldest() {
    let buffers = RunBuffers()
    for i in 0..<(RunBuffers.maxEntries + 3) { buffers.recycle([Float](repeating: Float(i), count: 8)) }
    var lent: [Float] = []
    while let b = buffers.take(8) { lent.append(b[0]) }
    XCTAssertEqual(lent.count, RunBuffers.maxEntries)
    XCTAssertEqual(lent.last, 3, "the three oldest were dropped")

    let largest = RunBuffers.maxBufferBytes / MemoryLayout<Float>.stride
    buffers.recycle([Float](repeating: 0, count: largest + 1))
    XCTAssertNil(buffers.take(largest + 1), "a buffer over the size bound is not kept")
    buffers.recycle([Float](repeating: 0, count: largest))
    XCTAssertNotNil(buffers.take(largest))
  }

  /// In a chain of same-sized 1×1 convs each Relu frees the conv output before it, which the
  /// next conv's output is then lent. An observer that kept that output must still see its
  /// bits: the lent buffer is shared, so the conv's first write copies it.
  func testALentBufferNeverOverwritesAValueStillHeld() throws {
    let layers = (0..<4).map { TestModel.ConvLayer("conv\($0)", outputChannels: 4, kernel: [1, 1]) }
    let model = try TestModel.chain(layers, inputChannels: 4)
    let executor = try Executor(model: model)
    var rng = SeededNormal(seed: 21)
    let input = rng.tensor([1, 4, 8, 8])
    let x = ["x": TensorValue(shape: input.shape, floats: input.scalars)]
    var held: [String: TensorValue] = [:], snapshot: [String: [UInt32]] = [:]
    let y = try executor.run(x, observing: ["c0", "c1", "c2"]) { name, value in
      held[name] = value
      snapshot[name] = value.floats!.map(\.bitPattern)
    }
    XCTAssertEqual(held.count, 3)
    for (name, value) in held {
      XCTAssertEqual(value.floats!.map(\.bitPattern), snapshot[name], "\(name) changed after it was observed")
    }
    // Unobserved runs recycle in place; they give the same bits as the observed one.
    for _ in 0..<2 {
      XCTAssertEqual(try executor.run(x)["y"]!.floats!.map(\.bitPattern), y["y"]!.floats!.map(\.bitPattern))
    }
    // And the right ones (float32 sums of 4 products against a Double reference).
    let expected = try XCTUnwrap(ReferenceEvaluator(model).run(["x": input])["y"])
    XCTAssertLessThan(relativeError(Tensor(shape: expected.shape, scalars: y["y"]!.floats!), expected), 1e-5)
  }
}
