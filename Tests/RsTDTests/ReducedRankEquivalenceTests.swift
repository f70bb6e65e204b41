import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// Below full rank: a kernel built with exactly the format's structure at rank r is rewritten at
/// rank r, so the chain must reproduce the original outputs (rank-dependent shapes, Tiles and
/// index maps are exercised, not only the lossless plans).
final class ReducedRankEquivalenceTests: XCTestCase {
  private func assertSameOutputs(
    weight: Tensor, group: Int = 1, _ options: RewriteOptions, below tolerance: Double, _ label: String,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let model = try TestModel.conv(
      weightShape: weight.shape, group: group, attributes: [Attribute("pads", .ints([1, 1, 1, 1]))], weight: weight, seed: 61)
    var rng = SeededNormal(seed: 62)
    let feeds = ["x": rng.tensor([1, weight.shape[1] * group, 8, 8])]
    let (out, rows) = try rewritten(model, options)
    XCTAssertEqual(rows.map(\.status), [.rewritten], "\(label): \(rows.map { $0.reason ?? "" })", file: file, line: line)
    XCTAssertLessThan(rows.first?.relativeError ?? 1, tolerance, "\(label): reported weight error", file: file, line: line)
    let expected = try ReferenceEvaluator(model).run(feeds)["y"]!
    let actual = try XCTUnwrap(try ReferenceEvaluator(out).run(feeds)["y"], file: file, line: line)
    assertRelativeError(actual, expected, below: tolerance, label, file: file, line: line)
  }

  private func options(_ method: Method, rank: Int, layout: Layout = .factorized) -> RewriteOptions {
    var o = fullRankOptions(method, layout: layout)
    o.ranks = .fixed(rank)
    return o
  }

  // Float32 factors of an exactly representable kernel: error ≈ 1e-6; 1e-5 leaves 10× headroom.
  func testExactLowRankKernelsAreReproducedAtTheirRank() throws {
    var g = SeededNormal(seed: 63)
    let svd = matmul(g.tensor([8, 2]), g.tensor([2, 36])).reshaped([8, 4, 3, 3])
    try assertSameOutputs(weight: svd, options(.svd, rank: 2), below: 1e-5, "svd rank 2")
    try assertSameOutputs(weight: svd, options(.svd, rank: 2, layout: .reconstructed), below: 1e-5, "reconstructed svd rank 2")

    let tucker = Tucker2Factors(core: g.tensor([3, 3, 3, 3]), output: g.tensor([8, 3]), input: g.tensor([4, 3])).reconstruct()
    try assertSameOutputs(weight: tucker, options(.tucker2, rank: 3), below: 1e-5, "tucker2 ranks (3,3)")
    try assertSameOutputs(weight: tucker, options(.tucker2, rank: 3, layout: .reconstructed), below: 1e-5, "reconstructed tucker2 (3,3)")

    // M = 8 = 2·4, C = 4 = 2·2, identity permutations (shuffle none).
    let kron = KronFactors(a: g.tensor([2, 2, 2]), b: g.tensor([2, 4, 2, 3, 3])).reconstruct()
    try assertSameOutputs(weight: kron, options(.kron, rank: 2), below: 1e-5, "kron rank 2")

    // Grouped: each group's [4, 18] block has rank 2.
    let groups = (0..<2).map { _ in matmul(g.tensor([4, 2]), g.tensor([2, 18])).scalars }
    let grouped = Tensor(shape: [8, 2, 3, 3], scalars: groups.flatMap { $0 })
    try assertSameOutputs(weight: grouped, group: 2, options(.svd, rank: 2), below: 1e-5, "grouped svd rank 2")
    try assertSameOutputs(weight: grouped, group: 2, options(.tucker2, rank: 2), below: 1e-5, "grouped tucker2 rank 2")
  }

  // CP-ALS is iterative: it stops when a sweep improves the error by less than 1e-6 (CPOptions
  // default), not at Float32 rounding; measured 2e-6 here, so 1e-4 leaves 50× headroom.
  func testExactCPKernelIsReproducedAtItsRank() throws {
    var g = SeededNormal(seed: 64)
    let cp = CPFactors(factors: [g.tensor([8, 3]), g.tensor([4, 3]), g.tensor([3, 3]), g.tensor([3, 3])]).reconstruct()
    try assertSameOutputs(weight: cp, options(.cp, rank: 3), below: 1e-4, "cp rank 3")
  }
}
