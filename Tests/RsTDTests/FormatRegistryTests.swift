import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// The registry lists every method's format, and a format handed another format's factors throws
/// instead of emitting nothing (which used to replace a node by an empty chain).
final class FormatRegistryTests: XCTestCase {
  func testEveryMethodHasAFormatOfThatMethod() {
    for m in Method.allCases where m != .auto && m != .mixed {
      XCTAssertEqual(FormatRegistry.format(for: m).method, m, "registry entry of \(m)")
    }
    XCTAssertEqual(FormatRegistry.format(for: .auto).method, .svd)
  }

  func testForeignFactorsThrowInsteadOfEmittingNothing() throws {
    let model = try TestModel.conv(weightShape: [8, 4, 3, 3])
    let site = try onlySite(model)
    let kernel = try site.kernel(in: model.graph)
    let svd = try SVDFormat().factor(kernel, site: site, ranks: [2], context: ShuffleContext(mode: .none, seed: 1, candidates: 0))
    for format in [Tucker2Format() as any ConvFormat, CPFormat(), KronFormat(), SpatialFormat(), ReconstructedFormat(inner: .tucker2)] {
      var emitter = ChainEmitter(graph: model.graph, site: site, factorKey: "k", shared: [:])
      var wrong = svd
      if format is ReconstructedFormat { wrong.factors = "not factors" }
      XCTAssertThrowsError(try format.emit(wrong, into: &emitter), "\(type(of: format))") { error in
        guard case RewriteError.factorsMismatch = error else { return XCTFail("\(error)") }
      }
      XCTAssertTrue(emitter.nodes.isEmpty)
    }
  }
}
