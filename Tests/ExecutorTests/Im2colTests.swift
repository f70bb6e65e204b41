import XCTest

@testable import Executor

/// Conv's 2-D unfolding (the run-by-run walk, and the copy from a zero-bordered plane for whole
/// maps with a column stride of 1) and Tile's row copies against their definitions.
final class Im2colTests: XCTestCase {
  /// The geometry of a 2-D window; the output size by the ONNX formula.
  private func geometry(input: [Int], kernel: [Int], strides: [Int], dilations: [Int], begin: [Int], end: [Int]) -> SpatialGeometry {
    var output: [Int] = []
    for d in 0..<2 {
      let span: Int = dilations[d] * (kernel[d] - 1) + 1
      output.append((input[d] + begin[d] + end[d] - span) / strides[d] + 1)
    }
    return SpatialGeometry(input: input, output: output, kernel: kernel, strides: strides, dilations: dilations, padBegin: begin, padEnd: end)
  }

  /// Row (channel, ky, kx), column j − columns.lowerBound: the input under tap (ky, kx) of
  /// output position j, 0 in the padding.
  private func referenceColumns(_ x: [Float], channels: Int, _ g: SpatialGeometry, columns: Range<Int>) -> [Float] {
    var out: [Float] = []
    for ch in 0..<channels {
      for ky in 0..<g.kernel[0] {
        for kx in 0..<g.kernel[1] {
          for j in columns {
            let y = (j / g.output[1]) * g.strides[0] - g.padBegin[0] + ky * g.dilations[0]
            let x0 = (j % g.output[1]) * g.strides[1] - g.padBegin[1] + kx * g.dilations[1]
            let inside = (0..<g.input[0]).contains(y) && (0..<g.input[1]).contains(x0)
            out.append(inside ? x[(ch * g.input[0] + y) * g.input[1] + x0] : 0)
          }
        }
      }
    }
    return out
  }

  private func unfold(_ x: [Float], channels: Int, _ g: SpatialGeometry, columns: Range<Int>) -> [Float] {
    let rows = channels * g.kernelCount
    var col = [Float](repeating: .nan, count: rows * columns.count)
    x.withUnsafeBufferPointer { xp in
      col.withUnsafeMutableBufferPointer { cp in
        Conv.im2col(xp.baseAddress!, channels: channels, geometry: g, columns: columns, into: cp.baseAddress!)
      }
    }
    return col
  }

  func testUnfoldingMatchesTheDefinition() {
    // (input, kernel, strides, dilations, pad begin, pad end); over all columns those with a
    // column stride of 1 take the bordered plane (unless it would be large), the others (and
    // partial column ranges) the run walk.
    let cases: [([Int], [Int], [Int], [Int], [Int], [Int])] = [
      ([8, 8], [3, 3], [1, 1], [1, 1], [1, 1], [1, 1]),
      ([8, 8], [1, 3], [1, 1], [1, 1], [0, 1], [0, 1]),
      ([8, 8], [3, 1], [1, 1], [1, 1], [1, 0], [1, 0]),
      ([5, 7], [5, 5], [1, 1], [1, 1], [2, 2], [2, 2]),
      ([5, 7], [3, 3], [1, 1], [1, 1], [0, 2], [2, 0]),  // asymmetric: output width still 7
      ([6, 6], [3, 3], [1, 1], [2, 2], [2, 2], [2, 2]),  // dilated
      ([2, 3], [5, 5], [1, 1], [1, 1], [2, 2], [2, 2]),  // kernel larger than the map
      ([4, 4], [3, 3], [1, 1], [1, 1], [3, 1], [0, 1]),  // rows reading only padding
      ([1, 1], [3, 3], [1, 1], [1, 1], [1, 1], [1, 1]),
      ([8, 8], [3, 3], [2, 2], [1, 1], [1, 1], [1, 1]),
      ([7, 9], [3, 2], [1, 2], [1, 1], [1, 0], [1, 1]),
      ([6, 6], [3, 3], [1, 1], [1, 1], [0, 0], [0, 0]),  // valid: narrower output
      ([7, 9], [3, 3], [2, 1], [1, 1], [1, 0], [0, 2]),  // row stride 2, column stride 1
      ([9, 5], [2, 3], [3, 1], [2, 1], [0, 1], [2, 0]),  // rows past the input, read as padding
      ([3, 3], [2, 2], [1, 1], [40, 40], [40, 40], [0, 0]),  // plane too large: the run walk
    ]
    for (input, kernel, strides, dilations, begin, end) in cases {
      let g = geometry(input: input, kernel: kernel, strides: strides, dilations: dilations, begin: begin, end: end)
      let channels = 3
      let x = (0..<(channels * g.inputCount)).map { Float($0 + 1) }
      let p = g.outputCount
      for columns in [0..<p, (p / 3)..<p, 0..<max(0, p - 2), (p / 2)..<(p / 2 + 1)] where !columns.isEmpty {
        XCTAssertEqual(
          unfold(x, channels: channels, g, columns: columns), referenceColumns(x, channels: channels, g, columns: columns),
          "input \(input) kernel \(kernel) strides \(strides) dilations \(dilations) pads \(begin) \(end) columns \(columns)")
      }
    }
  }

  func testTheBorderedPlaneIsTakenOnlyWhereItPays() {
    func plane(_ input: [Int], _ kernel: [Int], strides: [Int], dilations: [Int], pads: [Int]) -> (height: Int, width: Int)? {
      Conv.paddedPlane(geometry(input: input, kernel: kernel, strides: strides, dilations: dilations, begin: pads, end: pads))
    }
    XCTAssertEqual(plane([8, 8], [3, 3], strides: [1, 1], dilations: [1, 1], pads: [1, 1]).map { [$0.height, $0.width] }, [10, 10])
    XCTAssertEqual(plane([8, 8], [3, 3], strides: [2, 1], dilations: [1, 1], pads: [1, 1]).map { [$0.height, $0.width] }, [9, 10])
    XCTAssertNil(plane([8, 8], [3, 3], strides: [1, 2], dilations: [1, 1], pads: [1, 1]))
    XCTAssertNil(plane([3, 3], [2, 2], strides: [1, 1], dilations: [40, 40], pads: [20, 20]))
  }

  func testTileMatchesTheDefinition() throws {
    let context = RunContext(threads: 1)
    for (shape, repeats) in [([2, 3], [3, 2]), ([4, 1, 2, 3], [1, 5, 1, 1]), ([3], [4]), ([2, 2], [0, 3]), ([], []),
                              ([2, 3], [1, 1]), ([2, 3, 2], [2, 1, 1]), ([3, 1, 3, 3], [4, 1, 1, 1]), ([2, 1, 3], [1, 2, 1])] {
      let count = shape.reduce(1, *)
      let x = TensorValue(shape: shape, integers: (0..<count).map { Int64($0 * 3 + 1) })
      let reps = TensorValue(shape: [repeats.count], integers: repeats.map(Int64.init))
      let y = try Tile().run([x, reps], context)[0]
      let outShape = zip(shape, repeats).map { $0 * $1 }
      XCTAssertEqual(y.shape, outShape)
      let inStrides = Axes.strides(shape), outStrides = Axes.strides(outShape)
      let expected = (0..<outShape.reduce(1, *)).map { o -> Int64 in
        var offset = 0
        for d in shape.indices { offset += (o / outStrides[d]) % outShape[d] % shape[d] * inStrides[d] }
        return x.integers![offset]
      }
      XCTAssertEqual(y.integers, expected, "\(shape) × \(repeats)")
    }
  }
}
