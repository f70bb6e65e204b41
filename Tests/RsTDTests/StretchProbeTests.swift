import ONNX
import RsTDTestSupport
import XCTest

@testable import RsTD

/// Probes that run only the stretch of the model they change and resume the original after it
/// (`OutputBench.difference(ofStretch:_:inputs:)`) choose what whole-candidate probes choose:
/// the same written model, rows and measurement, bit for bit.
final class StretchProbeTests: XCTestCase {
  private func model() throws -> Model {
    try TestModel.chain(
      (0..<6).map { .init("c\($0)", outputChannels: 16, attributes: [Attribute("pads", .ints([1, 1, 1, 1]))]) }
        + [.init("head", outputChannels: 8, kernel: [1, 1])], inputChannels: 8, seed: 11)
  }

  /// Rewrites `model()` under `options`, probing by stretches or not, storage candidates by
  /// replaced weights or not.
  private func rewrite(_ options: RewriteOptions, stretches: Bool, replaces: Bool = false) throws -> (RewriteOutcome, Data) {
    var o = options
    o.check.probesStretches = stretches
    o.check.replacesStoredWeights = replaces
    var m = try model()
    let outcome = try Rewriter(options: o).rewriteMeasured(&m)
    return (outcome, try m.serializedData())
  }

  private func assertSameChoices(_ options: RewriteOptions, file: StaticString = #filePath, line: UInt = #line) throws -> RewriteOutcome {
    let (stretched, a) = try rewrite(options, stretches: true)
    let (whole, b) = try rewrite(options, stretches: false)
    XCTAssertEqual(a, b, "written model", file: file, line: line)
    XCTAssertEqual(stretched.sites, whole.sites, file: file, line: line)
    XCTAssertEqual(stretched.measurement, whole.measurement, file: file, line: line)
    return stretched
  }

  func testABackOffProbingStretchesChoosesWhatWholeProbesChoose() throws {
    var o = RewriteOptions()
    o.force = true
    o.ranks = .ratio(0.3)
    o.check.bound = .relative(0.02)
    let outcome = try assertSameChoices(o)
    XCTAssertGreaterThan(try XCTUnwrap(outcome.measurement.plannedError), 0.02, "the plan backs off")
    XCTAssertGreaterThan(outcome.measurement.sitesBackedOff, 0)
    XCTAssertLessThanOrEqual(try XCTUnwrap(outcome.measurement.outputError), 0.02)
  }

  func testAStorageAllocationProbingStretchesKeepsWhatWholeProbesKeep() throws {
    var o = RewriteOptions()
    o.include = ["__none__"]
    o.weights = .fp16
    o.check.storageBound = .relative(1e-6)
    let outcome = try assertSameChoices(o)
    let storage = try XCTUnwrap(outcome.measurement.storage)
    XCTAssertGreaterThan(storage.allStoredError, 1e-6, "storing every weight breaks the bound")
    XCTAssertFalse(storage.kept.isEmpty)
    // Candidates and probes by replaced weights (`StoredWeightRuns`, the default) keep the same
    // weights; the report counts one more pass of the inputs, the check of the replaced runs.
    var (replaced, bytes) = try rewrite(o, stretches: true, replaces: true)
    XCTAssertEqual(bytes, try rewrite(o, stretches: true).1, "written model")
    XCTAssertEqual(replaced.sites, outcome.sites)
    let inputs = OutputCheck().samples
    XCTAssertEqual(replaced.measurement.modelRuns, outcome.measurement.modelRuns + inputs)
    XCTAssertEqual(replaced.measurement.storage?.modelRuns, storage.modelRuns + inputs)
    replaced.measurement.modelRuns = outcome.measurement.modelRuns
    replaced.measurement.storage?.modelRuns = storage.modelRuns
    XCTAssertEqual(replaced.measurement, outcome.measurement)
  }
}
