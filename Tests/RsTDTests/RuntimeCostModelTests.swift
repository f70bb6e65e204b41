import Foundation
import XCTest

@testable import RsTD

/// The runtime cost model: its NCHWc rules, rank steps at the block, and robustness.
final class RuntimeCostModelTests: XCTestCase {
  private let model = RuntimeCostModel.onnxruntimeCPU

  private func conv(
    _ cin: Int, _ cout: Int, group: Int = 1, kernel: Int = 1, positions: Int = 56 * 56
  ) -> CostNode {
    .conv(
      inputChannels: cin, outputChannels: cout, group: group, kernelArea: kernel * kernel,
      inputPositions: positions, outputPositions: positions)
  }

  /// The reference chain: 3×3 128→r, then 1×1 r→128, at 56×56.
  private func svdChain(rank: Int) -> [CostNode] {
    [conv(128, rank, kernel: 3), conv(rank, 128)]
  }

  func testRanksStepAtTheBlock() {
    let wide = model.with(block: 16)
    let at = { (rank: Int) in wide.predict(self.svdChain(rank: rank)) }
    // 20 and 32 both pad to two blocks of 16.
    XCTAssertEqual(at(20), at(32), accuracy: 1e-9 * at(32))
    XCTAssertEqual(at(68), at(80), accuracy: 1e-9 * at(80))
    // 36 pads to three blocks.
    XCTAssertGreaterThan(at(36), at(32) * 1.05)
    // 17 and 33 are not multiples of 4, so the 1×1 r→128 falls off the blocked path (ORT's
    // ReorderInput alignment) and pays reorders on both sides.
    XCTAssertGreaterThan(at(33), at(32))
    XCTAssertGreaterThan(at(17), at(20))
  }

  func testBlockEightChangesOnlyRounding() {
    let narrow = model.with(block: 8)
    let wide = model.with(block: 16)
    XCTAssertEqual(narrow.with(block: model.block), model)
    XCTAssertEqual(narrow.blockedMAC, wide.blockedMAC)
    // 24 is three blocks of 8 but two of 16: cheaper than 32 only with the narrow block.
    XCTAssertLessThan(narrow.predict(svdChain(rank: 24)), narrow.predict(svdChain(rank: 32)))
    XCTAssertEqual(wide.predict(svdChain(rank: 24)), wide.predict(svdChain(rank: 32)), accuracy: 1e-6)
    // 8 input channels: a stem conv (reads NCHW) under 16, an ordinary blocked one under 8.
    XCTAssertEqual(wide.convPath(conv(8, 64, kernel: 3)), .stem)
    XCTAssertEqual(narrow.convPath(conv(8, 64, kernel: 3)), .blocked)
  }

  /// The rules of nchw_transformer.cc as fit.py verified them on onnxruntime 1.32.
  func testBlockedRulesFollowTheNchwcTransformer() {
    let m = model.with(block: 8)
    XCTAssertTrue(m.isBlocked(conv(64, 17)))  // any output count: padded
    XCTAssertFalse(m.isBlocked(conv(17, 64)))  // input not a multiple of 4
    XCTAssertTrue(m.isBlocked(conv(20, 64)))  // multiple of 4: padded to 24
    XCTAssertTrue(m.isBlocked(conv(3, 64, kernel: 7)))  // stem
    XCTAssertTrue(m.isBlocked(conv(60, 60, group: 60, kernel: 3)))  // depthwise, 60 % 4 == 0
    XCTAssertFalse(m.isBlocked(conv(62, 62, group: 62, kernel: 3)))
    XCTAssertTrue(m.isBlocked(conv(64, 64, group: 8, kernel: 3)))  // 8 per group
    XCTAssertFalse(m.isBlocked(conv(48, 48, group: 4, kernel: 3)))  // 12 per group
    XCTAssertFalse(m.isBlocked(.channelGather(channels: 64, positions: 49)))
    XCTAssertFalse(m.isBlocked(.matMul(rows: 1, inputFeatures: 64, outputFeatures: 10)))
  }

  /// The roofline: a blocked conv pays the larger of its kernel work and its memory streams. A 1×1
  /// with few output blocks over a large activation (PP-OCR det's 16→32 at 320×320) is
  /// memory-bound, so its stream terms set its price; a wide 1×1 over a small one (rec's 240→240
  /// at 960 positions) is compute-bound, so they do not raise it.
  func testMemoryTermsPriceOnlyMemoryBoundConvs() {
    var noMemory = model
    noMemory.blockedElement = 0
    noMemory.spillElement = 0
    let large = conv(16, 32, positions: 320 * 320)
    let wide = conv(240, 240, positions: 960)
    XCTAssertGreaterThan(model.cost(of: large), noMemory.cost(of: large) * 1.1)
    XCTAssertEqual(model.cost(of: wide), noMemory.cost(of: wide), accuracy: 1e-9 * model.cost(of: wide))
    // Only the part of a stream beyond the cache spills.
    var noSpill = model
    noSpill.spillElement = 0
    let small = conv(64, 64, positions: 28 * 28)
    XCTAssertLessThan(64.0 * 28 * 28, model.cacheElements)
    XCTAssertEqual(model.cost(of: small), noSpill.cost(of: small), accuracy: 1e-9 * model.cost(of: small))
  }

  func testOffPathGroupedConvCostsMoreThanItsBlockedEquivalent() {
    let m = model.with(block: 16)
    // 120 channels in 8 groups of 15 do fewer multiply-adds than 128 in groups of 16, yet run
    // off the blocked path with reorders on both sides.
    let off = [conv(120, 120, group: 8, kernel: 3)]
    let on = [conv(128, 128, group: 8, kernel: 3)]
    XCTAssertFalse(m.isBlocked(off[0]))
    XCTAssertTrue(m.isBlocked(on[0]))
    XCTAssertGreaterThan(m.predict(off), m.predict(on))
  }

  func testChannelGatherPaysReordersInsideABlockedNetwork() {
    let plain = [conv(64, 32), conv(32, 64, kernel: 3)]
    let gathered = [conv(64, 32), .channelGather(channels: 32, positions: 56 * 56), conv(32, 64, kernel: 3)]
    let gather = model.cost(of: .channelGather(channels: 32, positions: 56 * 56))
    XCTAssertGreaterThan(model.predict(gathered), model.predict(plain) + gather)
    // At graph boundaries (NCHW neighbours) a blocked chain pays the reorders instead.
    XCTAssertGreaterThan(model.predict(plain, neighbours: .nchw), model.predict(plain))
  }

  func testPredictionIsMonotoneInPositions() {
    let chains: [(Int) -> [CostNode]] = [
      { [self.conv(128, 32, kernel: 3, positions: $0), self.conv(32, 128, positions: $0)] },
      { [self.conv(3, 32, kernel: 7, positions: $0)] },
      { [self.conv(96, 96, group: 96, kernel: 3, positions: $0)] },
      { [self.conv(120, 120, group: 8, kernel: 3, positions: $0)] },
      { [.channelGather(channels: 50, positions: $0)] },
      { [.matMul(rows: $0, inputFeatures: 256, outputFeatures: 10)] },
    ]
    for chain in chains {
      var previous = 0.0
      for positions in [1, 7 * 7, 14 * 14, 56 * 56, 112 * 112] {
        let cost = model.predict(chain(positions))
        XCTAssertGreaterThan(cost, previous)
        previous = cost
      }
    }
  }

  func testHugeAndInvalidCountsDoNotTrap() {
    let big = Int.max
    let nodes: [CostNode] = [
      .conv(inputChannels: big, outputChannels: big, group: 1, kernelArea: big, inputPositions: big, outputPositions: big),
      .conv(inputChannels: big, outputChannels: big, group: big, kernelArea: 9, inputPositions: big, outputPositions: big),
      .conv(inputChannels: Int.min, outputChannels: -1, group: -1, kernelArea: -9, inputPositions: Int.min, outputPositions: 0),
      .conv(inputChannels: 64, outputChannels: 64, group: 0, kernelArea: 9, inputPositions: 49, outputPositions: 49),
      .channelGather(channels: big, positions: big),
      .matMul(rows: big, inputFeatures: big, outputFeatures: big),
    ]
    for block in [1, 8, 16, big] {
      let cost = model.with(block: block).predict(nodes)
      XCTAssertTrue(cost.isFinite)
      XCTAssertGreaterThan(cost, 0)
    }
    XCTAssertEqual(model.with(block: 0).block, 1)
    var unclamped = model
    unclamped.block = 0
    XCTAssertTrue(unclamped.predict(nodes).isFinite)
    XCTAssertEqual(model.predict([]), 0)
  }

  /// fit.py's Python copy of the model and this one agree on every measured chain: fit.json
  /// stores each chain with its prediction (graph input and output NCHW, plus one run overhead).
  func testSwiftAndFitScriptPredictTheSame() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../../bench/latency/fit.json")
    let fit = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    let runOverhead = try XCTUnwrap((fit["constants_us"] as? [String: Any])?["runOverhead"] as? Double)
    XCTAssertEqual(fit["block"] as? Int, model.block)
    let measurements = try XCTUnwrap(fit["measurements"] as? [[String: Any]])
    XCTAssertGreaterThan(measurements.count, 50)
    for measurement in measurements {
      let chain = try XCTUnwrap(measurement["chain"] as? [[Any]]).map(costNode)
      let expected = try XCTUnwrap(measurement["predicted_us"] as? Double)
      let predicted = model.predict(chain, neighbours: .nchw) + runOverhead
      XCTAssertEqual(predicted, expected, accuracy: 1e-4 * expected, "\(chain)")
    }
  }

  /// fit.py's node tuples: ["conv", cin, cout, group, area, inPositions, outPositions],
  /// ["gather", channels, positions], ["matmul", rows, in, out].
  private func costNode(_ tuple: [Any]) throws -> CostNode {
    let n = tuple.dropFirst().compactMap { $0 as? Int }
    switch tuple.first as? String {
    case "conv" where n.count == 6:
      return .conv(
        inputChannels: n[0], outputChannels: n[1], group: n[2], kernelArea: n[3], inputPositions: n[4],
        outputPositions: n[5])
    case "gather" where n.count == 2: return .channelGather(channels: n[0], positions: n[1])
    case "matmul" where n.count == 3: return .matMul(rows: n[0], inputFeatures: n[1], outputFeatures: n[2])
    default: throw UnreadableNode(tuple: "\(tuple)")
    }
  }

  private struct UnreadableNode: Error { let tuple: String }

  func testCodableRoundTrip() throws {
    let data = try JSONEncoder().encode(model)
    XCTAssertEqual(try JSONDecoder().decode(RuntimeCostModel.self, from: data), model)
  }
}
