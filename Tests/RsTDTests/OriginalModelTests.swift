import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// The output check lets go of the original model while it measures the planned rewrite and
/// reads it again only to back off; what it reads again must be the same model.
final class OriginalModelTests: XCTestCase {
  private func model(seed: UInt64 = 7) throws -> Model {
    try TestModel.chain(
      [.init("a", outputChannels: 16), .init("b", outputChannels: 16), .init("c", outputChannels: 8, kernel: [1, 1])],
      inputChannels: 8, seed: seed)
  }

  /// Counts how often the model is read again.
  private final class Reads: @unchecked Sendable {
    var count = 0
  }

  func testReleasedModelIsReadAgainOnceAndMustBeTheSame() throws {
    let m = try model()
    let reads = Reads()
    let original = OriginalModel(m, read: { reads.count += 1; return try self.model() })
    try original.release()
    let again = try original.get()
    XCTAssertEqual(try again.contentFingerprint(), try m.contentFingerprint())
    _ = try original.get()
    XCTAssertEqual(reads.count, 1, "read once, then held")

    let changed = OriginalModel(m, read: { try self.model(seed: 8) })
    try changed.release()
    XCTAssertThrowsError(try changed.get()) { XCTAssertEqual($0 as? RewriteError, .inputChanged) }
  }

  func testWithoutAWayToReadItAgainTheModelIsKept() throws {
    let m = try model()
    let original = OriginalModel(m, read: nil)
    try original.release()
    XCTAssertEqual(try original.get().contentFingerprint(), try m.contentFingerprint())
  }

  /// One weight value changed is a different fingerprint; the same model built twice is not.
  func testFingerprintSeesEveryWeightByte() throws {
    func conv(_ w: Tensor) throws -> Model { try TestModel.conv(weightShape: w.shape, weight: w) }
    var rng = SeededNormal(seed: 3)
    let w = rng.tensor([16, 8, 3, 3])
    var v = w
    v.scalars[v.count - 1] += 1e-3  // the last value: past the bytes a message's hash reads
    XCTAssertEqual(try conv(w).contentFingerprint(), try conv(w).contentFingerprint())
    XCTAssertNotEqual(try conv(w).contentFingerprint(), try conv(v).contentFingerprint())
  }

  /// A weight held by a Constant node (bytes inside a node's attribute) counts in full too.
  func testFingerprintSeesEveryByteOfAConstantNodesWeight() throws {
    func conv(_ w: Tensor) throws -> Model {
      var b = TestGraphBuilder(opset: 13)
      b.input("x", shape: [1, 8, 8, 8])
      b.constantNode(name: "weight", output: "w", w)
      b.node("Conv", name: "conv0", inputs: ["x", "w"], outputs: ["y"], attributes: [Attribute("kernel_shape", .ints([3, 3]))])
      b.output("y", shape: [1, 16, 6, 6])
      return try b.model()
    }
    var rng = SeededNormal(seed: 4)
    let w = rng.tensor([16, 8, 3, 3])
    var v = w
    v.scalars[v.count - 1] += 1e-3
    XCTAssertEqual(try conv(w).contentFingerprint(), try conv(w).contentFingerprint())
    XCTAssertNotEqual(try conv(w).contentFingerprint(), try conv(v).contentFingerprint())
  }

  /// Through the rewrite: a run whose planned ranks miss the bound reads the model again to back
  /// off and writes what a run holding it throughout writes; a run within the bound never reads it.
  func testRewriteReadsTheModelAgainOnlyToBackOff() throws {
    for (ranks, backsOff) in [(RankPolicy.ratio(0.3), true), (RankPolicy.full, false)] {
      var o = RewriteOptions()
      o.method = .svd
      o.ranks = ranks
      o.force = true
      o.check.bound = .relative(0.02)
      var held = try model()
      let heldOutcome = try Rewriter(options: o).rewriteMeasured(&held)
      let reads = Reads()
      var reread = try model()
      let rereadOutcome = try Rewriter(options: o).rewriteMeasured(&reread, rereading: { reads.count += 1; return try self.model() })
      XCTAssertEqual(reads.count, backsOff ? 1 : 0, "\(ranks)")
      XCTAssertEqual(rereadOutcome.measurement.sitesBackedOff > 0, backsOff, "\(ranks)")
      XCTAssertEqual(try reread.serializedData(), try held.serializedData(), "\(ranks)")
      XCTAssertEqual(rereadOutcome.measurement.outputError, heldOutcome.measurement.outputError, "\(ranks)")
    }
  }
}
