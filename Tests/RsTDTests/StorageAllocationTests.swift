import ONNX
import RsTD
import RsTDTestSupport
import XCTest

/// The storage bound (`--storage-error`): under `--weights fp16` the weights whose rounding moves
/// the outputs most are kept float32, as few as keep the measured storage-only error in bound.
final class StorageAllocationTests: XCTestCase {
  /// Four kept layers (three 3×3, one 1×1): also `StoredWeightRunsTests`' model.
  static func model() throws -> Model {
    try TestModel.chain(
      [
        .init("a", outputChannels: 16), .init("b", outputChannels: 16), .init("c", outputChannels: 16),
        .init("d", outputChannels: 8, kernel: [1, 1]),
      ], inputChannels: 8, seed: 7)
  }

  /// fp16 storage of every weight, sites kept whole, held to `bound`.
  private func rewrite(bound: OutputCheck.Bound) throws -> (outcome: RewriteOutcome, model: Model) {
    var o = RewriteOptions()
    o.include = ["__none__"]
    o.weights = .fp16
    o.check.storageBound = bound
    var m = try Self.model()
    let outcome = try Rewriter(options: o).rewriteMeasured(&m)
    return (outcome, m)
  }

  private func float16Tensors(_ m: Model) -> Int {
    m.graph.initializerNames.filter { (try? m.graph.constant($0))?.elementType == .float16 }.count
  }

  func testLooseBoundStoresEveryWeight() throws {
    let (outcome, m) = try rewrite(bound: .relative(1))
    let storage = try XCTUnwrap(outcome.measurement.storage)
    XCTAssertEqual(storage.kept, [:])
    XCTAssertEqual(storage.weightsStored, 4)
    XCTAssertGreaterThan(storage.allStoredError, 0)
    XCTAssertEqual(storage.storedError, storage.allStoredError)
    XCTAssertEqual(float16Tensors(m), 4)
  }

  func testBoundBelowAllStoredKeepsSomeWeightsFloat32AndHolds() throws {
    let all = try XCTUnwrap(try rewrite(bound: .relative(1)).outcome.measurement.storage).allStoredError
    let bound = all * 0.6
    let (outcome, m) = try rewrite(bound: .relative(bound))
    let storage = try XCTUnwrap(outcome.measurement.storage)
    XCTAssertFalse(storage.kept.isEmpty)
    XCTAssertLessThanOrEqual(storage.storedError, bound)
    XCTAssertLessThanOrEqual(try XCTUnwrap(outcome.measurement.outputError), bound)
    XCTAssertEqual(storage.weightsStored + storage.kept.count, 4)
    XCTAssertEqual(float16Tensors(m), storage.weightsStored)
    for row in outcome.sites where storage.kept[row.weight ?? ""] != nil {
      XCTAssertTrue(row.weights?.hasPrefix("fp32 (kept: its fp16 storage alone moved the outputs by") ?? false, row.weights ?? "nil")
    }
    // Deterministic: the same choice and the same bytes.
    let again = try rewrite(bound: .relative(bound))
    XCTAssertEqual(again.outcome.measurement.storage, storage)
    XCTAssertEqual(try again.model.serializedData(), try m.serializedData())
  }

  func testUnreachableBoundKeepsEveryWeight() throws {
    let (outcome, m) = try rewrite(bound: .relative(1e-12))
    let storage = try XCTUnwrap(outcome.measurement.storage)
    XCTAssertEqual(storage.kept.count, 4)
    XCTAssertEqual(storage.storedError, 0)
    XCTAssertEqual(float16Tensors(m), 0)
  }

  func testNoBoundOnlyMeasures() throws {
    let (outcome, m) = try rewrite(bound: .none)
    XCTAssertNil(outcome.measurement.storage)
    XCTAssertEqual(float16Tensors(m), 4)
  }
}
