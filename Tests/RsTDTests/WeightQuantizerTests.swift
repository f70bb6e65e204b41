import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// The weight quantizer (Storage/QuantizedWeight.swift) and `--weights` in a rewrite.
final class WeightQuantizerTests: XCTestCase {
  /// Seeded normal-ish values (sum of uniforms), scaled per row by `rowScale(row)`.
  private func matrix(rows: Int, columns: Int, seed: UInt64, scale: (Int, Int) -> Float) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<(rows * columns)).map { i in
      let u = (0..<4).reduce(Float(0)) { acc, _ in acc + Float(rng.next() >> 40) / Float(1 << 24) } - 2
      return u * scale(i / columns, i % columns)
    }
  }

  // Symmetric rounding to 127 levels: every entry within half a step of its channel's scale.
  func testInt8RoundTripIsWithinHalfAStepPerChannel() {
    let shape = [6, 10]
    let w = matrix(rows: 6, columns: 10, seed: 3) { r, _ in Float(r + 1) }
    for axis in 0..<2 {
      let q = QuantizedWeight.int8(w, shape: shape, axis: axis)
      guard case .int8(let values, let scales, let a) = q.encoding else { return XCTFail("not int8") }
      XCTAssertEqual(a, axis)
      XCTAssertEqual(scales.count, shape[axis])
      for i in w.indices {
        let c = axis == 0 ? i / 10 : i % 10
        // Half a step, plus float32 rounding of w / s and of q · s (a few ulps of |w|).
        let bound = scales[c] / 2 * (1 + 1e-5) + abs(w[i]) * 4 * .ulpOfOne
        XCTAssertLessThanOrEqual(abs(w[i] - q.dequantized[i]), bound, "axis \(axis) entry \(i)")
        XCTAssertEqual(q.dequantized[i], Float(values[i]) * scales[c], "the rebuild is one multiplication")
        XCTAssertLessThanOrEqual(abs(Int(values[i])), 127)
      }
      XCTAssertEqual(q.squaredError, squaredDistance(w, q.dequantized))
    }
  }

  // The channel's largest magnitude maps to ±127 exactly.
  func testInt8UsesTheFullRangeOfEachChannel() {
    let w: [Float] = [0.5, -1.0, 0.25, 3.0, 1.5, -0.75]
    let q = QuantizedWeight.int8(w, shape: [2, 3], axis: 0)
    guard case .int8(let values, let scales, _) = q.encoding else { return XCTFail("not int8") }
    XCTAssertEqual(scales, [1.0 / 127, 3.0 / 127])
    XCTAssertEqual(values[1], -127)
    XCTAssertEqual(values[3], 127)
  }

  // An all-zero channel gets scale 1 (no division by zero) and stays exactly zero.
  func testAllZeroChannelHasScaleOneAndStaysZero() {
    let w: [Float] = [0, 0, 0, 0.5, -0.25, 1]
    let q = QuantizedWeight.int8(w, shape: [2, 3], axis: 0)
    guard case .int8(let values, let scales, _) = q.encoding else { return XCTFail("not int8") }
    XCTAssertEqual(scales[0], 1)
    XCTAssertEqual(Array(values[0..<3]), [0, 0, 0])
    XCTAssertEqual(Array(q.dequantized[0..<3]), [0, 0, 0])
    XCTAssert(q.dequantized.allSatisfy(\.isFinite))
  }

  // Rows of very different magnitudes want per-row scales; columns, per-column scales.
  func testAxisChoiceFollowsTheChannelsWhoseMagnitudesDiffer() {
    let rowsDiffer = matrix(rows: 8, columns: 16, seed: 5) { r, _ in powf(4, Float(r)) }
    XCTAssertEqual(QuantizedWeight.int8(rowsDiffer, shape: [8, 16]).axis, 0)
    let columnsDiffer = matrix(rows: 8, columns: 16, seed: 6) { _, c in powf(2, Float(c)) }
    XCTAssertEqual(QuantizedWeight.int8(columnsDiffer, shape: [8, 16]).axis, 1)
    // The chosen axis has the least error of all axes.
    let w = matrix(rows: 8, columns: 16, seed: 7) { r, c in Float(1 + r * c % 5) }
    let best = QuantizedWeight.int8(w, shape: [8, 16])
    for axis in 0..<2 {
      XCTAssertLessThanOrEqual(best.squaredError, QuantizedWeight.int8(w, shape: [8, 16], axis: axis).squaredError)
    }
  }

  // fp16: within half an ulp of FLOAT16 (2^-11 relative), nil beyond 65504's rounding range.
  func testFloat16RoundTripAndOverflow() throws {
    let w = matrix(rows: 4, columns: 8, seed: 9) { _, _ in 3 }
    let q = try XCTUnwrap(QuantizedWeight.float16(w))
    for (a, b) in zip(w, q.dequantized) { XCTAssertLessThanOrEqual(abs(a - b), abs(a) * powf(2, -11) * 1.0001, "\(a)") }
    XCTAssertNotNil(QuantizedWeight.float16([65504, -65504]))
    XCTAssertNil(QuantizedWeight.float16([1, 70000]), "70000 would become infinity")
  }

  // A rewrite under int8: the reported error includes storage (above the float factors' error,
  // below 5e-2 for 127 levels), the graph stores INT8 and the bytes are deterministic.
  func testInt8RewriteReportsStorageErrorAndIsDeterministic() throws {
    func model() throws -> Model {
      try TestModel.chain([.init("conv0", outputChannels: 8), .init("conv1", outputChannels: 8)], inputChannels: 4, seed: 21)
    }
    var options = fullRankOptions(.svd)
    options.weights = .int8
    let first = try rewritten(try model(), options)
    let second = try rewritten(try model(), options)
    XCTAssertEqual(try first.model.serializedData(), try second.model.serializedData())
    for row in first.rows where row.status == .rewritten {
      let error = try XCTUnwrap(row.relativeError), lowRank = try XCTUnwrap(row.lowRankError)
      XCTAssertGreaterThan(error, lowRank, "\(row.node): storage adds error")
      XCTAssertLessThan(error, 5e-2, row.node)
      XCTAssert(row.weights?.hasPrefix("int8 (svd_right int8 axis") == true, row.weights ?? "nil")
    }
    XCTAssertEqual(opCounts(first.model.graph)["Cast"], 4, "two factors per site, each rebuilt by one Cast")
    XCTAssertEqual(opCounts(first.model.graph)["Mul"], 4)
    XCTAssertNotNil(first.model.graph.initializerBytesByType["INT8"])
    try assertWellFormed(first.model)
  }

  // Under int8 a weight is rebuilt by Cast → Mul; a bias stays a FLOAT initializer read directly.
  func testBiasesAreNeverRestored() throws {
    let model = try TestModel.chain([.init("conv0", outputChannels: 8)], inputChannels: 4, seed: 3)
    let site = try onlySite(model)
    var e = ChainEmitter(graph: model.graph, site: site, factorKey: "k", shared: [:], storage: .int8)
    let w = e.initializer("w", [Float](repeating: 0.5, count: 8), shape: [8, 1])
    let b = e.bias("b", [Float](repeating: 0.25, count: 8), shape: [8])
    XCTAssertEqual(e.nodes.map(\.opType), ["Cast", "Mul"], "only the weight is rebuilt")
    XCTAssertEqual(e.nodes.last?.outputs, [w])
    XCTAssertEqual(try e.graph.constant(b)?.elementTypeName, "FLOAT")
    XCTAssertEqual(try e.graph.constant(b)?.floats(), [Float](repeating: 0.25, count: 8))
  }
}
