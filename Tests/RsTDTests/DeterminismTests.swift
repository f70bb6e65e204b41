import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// Output bytes depend only on the model and the options.
final class DeterminismTests: XCTestCase {
  // x ─▶ Conv "conv0" (w[8,4,3,3]) ─▶ Relu ─▶ Conv "conv1" (w[8,8,3,3]) ─▶ y
  private func model() throws -> Model {
    try TestModel.chain([.init("conv0", outputChannels: 8), .init("conv1", outputChannels: 8)], inputChannels: 4, seed: 21)
  }

  func testRewritingTwiceGivesIdenticalBytes() throws {
    var configurations: [(String, RewriteOptions)] = [
      ("svd full", fullRankOptions(.svd)),
      ("tucker2 full", fullRankOptions(.tucker2)),
      ("kron random", fullRankOptions(.kron, shuffle: .random)),
      ("reconstructed svd random", fullRankOptions(.svd, layout: .reconstructed, shuffle: .random)),
    ]
    // The default ranks under a looser output bound: the measured path rewrites these random
    // kernels (weight error ≈ 0.27) and must stay deterministic too.
    var measured = chainTestOptions()
    measured.check.bound = .relative(0.5)
    configurations.append(("auto default ranks, target-error 0.5", measured))
    var cp = fullRankOptions(.cp)
    cp.ranks = .fixed(3)
    configurations.append(("cp rank 3 (ALS)", cp))
    var ratio = chainTestOptions()
    ratio.ranks = .ratio(0.5)
    configurations.append(("auto ratio 0.5", ratio))
    for (label, options) in configurations {
      // Two separately built models, so no state is shared between the runs.
      let first = try rewritten(try model(), options)
      let second = try rewritten(try model(), options)
      XCTAssertEqual(try first.model.serializedData(), try second.model.serializedData(), label)
      XCTAssertEqual(first.rows, second.rows, label)
      XCTAssertNotEqual(try first.model.serializedData(), try model().serializedData(), "\(label): nothing was rewritten")
    }
  }

  // siteSeed = SplitMix64(seed ^ FNV-1a-64(weight name)).next(), written out independently.
  func testSiteSeedIsStableAndDependsOnTheWeightName() {
    func reference(_ seed: UInt64, _ name: String) -> UInt64 {
      var h: UInt64 = 14_695_981_039_346_656_037  // FNV-1a offset basis
      for byte in name.utf8 { h = (h ^ UInt64(byte)) &* 1_099_511_628_211 }  // FNV prime
      var state = seed ^ h
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    let names = ["conv0.w", "conv1.w", "w", "", "backbone.0.weight", "backbone.0.weighu"]
    for name in names {
      XCTAssertEqual(siteSeed(1810, name), reference(1810, name), "'\(name)'")
      XCTAssertEqual(siteSeed(1810, name), siteSeed(1810, name), "'\(name)'")
      XCTAssertNotEqual(siteSeed(1810, name), siteSeed(1811, name), "'\(name)': the global seed must matter")
    }
    XCTAssertEqual(Set(names.map { siteSeed(1810, $0) }).count, names.count, "names must give distinct seeds")
  }

  // The same shuffle seed for a weight wherever its site sits in the graph: reordering the
  // layers does not change the shuffle each weight gets.
  func testShuffleDoesNotDependOnSiteOrder() throws {
    var options = fullRankOptions(.kron, shuffle: .random)
    options.include = ["conv1"]
    let alone = try rewritten(try model(), options).rows.first { $0.node == "conv1" }?.shuffle
    options.include = []
    let together = try rewritten(try model(), options).rows.first { $0.node == "conv1" }?.shuffle
    XCTAssertEqual(alone, together)
    XCTAssertEqual(alone, "random seed \(siteSeed(1810, "conv1.w"))")
  }
}
