import XCTest

@testable import ONNX

/// The Conv-family output dims a declared output shape is checked against: the values onnx's
/// shape inference gives (Tests/conformance/test_declarations.py checks them against onnx).
final class ConvOutputShapeTests: XCTestCase {
  /// The inferred dims, nil when the node is refused.
  private func dims(_ op: String, _ attributes: [Attribute] = [], input: [Int?] = [1, 4, 8, 8], weight: [Int]? = [8, 4, 3, 3]) -> [Int?]? {
    try? ConvOutputShape.dims(Node(name: "n", opType: op, inputs: ["x", "w"], outputs: ["y"], attributes: attributes), input: input, weight: weight)
  }

  func testConv() {
    XCTAssertEqual(dims("Conv"), [1, 8, 6, 6])
    XCTAssertEqual(dims("Conv", [Attribute("pads", .ints([1, 1, 1, 1]))]), [1, 8, 8, 8])
    XCTAssertEqual(dims("Conv", [Attribute("strides", .ints([2, 3]))]), [1, 8, 3, 2])
    XCTAssertEqual(dims("Conv", [Attribute("dilations", .ints([2, 2]))]), [1, 8, 4, 4])
    XCTAssertEqual(dims("Conv", [Attribute("auto_pad", .string("SAME_UPPER")), Attribute("strides", .ints([3, 3]))]), [1, 8, 3, 3])
    XCTAssertEqual(dims("Conv", [Attribute("auto_pad", .string("VALID")), Attribute("strides", .ints([2, 2]))]), [1, 8, 3, 3])
    // A kernel_shape without a known weight; unknown and symbolic input dims stay unknown.
    XCTAssertEqual(dims("Conv", [Attribute("kernel_shape", .ints([5, 5]))], input: [nil, 4, 8, nil], weight: nil), [nil, nil, 4, nil])
    // Strides of 2⁶² leave one position per axis, as onnx infers.
    XCTAssertEqual(dims("Conv", [Attribute("strides", .ints([1 << 62, 1 << 62]))]), [1, 8, 1, 1])
    // A kernel wider than the padded input gives no size (onnx infers a negative or zero dim,
    // onnxruntime fails): refused.
    XCTAssertNil(dims("Conv", input: [1, 4, 2, 2]))
    XCTAssertNil(dims("Conv", [Attribute("kernel_shape", .ints([5])), Attribute("pads", .ints([1, 1]))], input: [1, 4, 1], weight: [4, 4, 5]))
  }

  func testConvTranspose() {
    let w = [4, 2, 3, 3]
    XCTAssertEqual(dims("ConvTranspose", [Attribute("strides", .ints([2, 2]))], input: [1, 4, 5, 5], weight: w), [1, 2, 11, 11])
    XCTAssertEqual(dims("ConvTranspose", [Attribute("group", .int(2))], input: [1, 4, 5, 5], weight: w), [1, 4, 7, 7])
    XCTAssertEqual(
      dims("ConvTranspose", [Attribute("strides", .ints([3, 2])), Attribute("pads", .ints([1, 1, 1, 1])), Attribute("output_padding", .ints([1, 1]))],
           input: [1, 4, 7, 6], weight: w), [1, 2, 20, 12])
    XCTAssertEqual(dims("ConvTranspose", [Attribute("output_shape", .ints([10, 9]))], input: [1, 4, 5, 5], weight: w), [1, 2, 10, 9])
    XCTAssertEqual(
      dims("ConvTranspose", [Attribute("auto_pad", .string("SAME_LOWER")), Attribute("strides", .ints([2, 2]))], input: [1, 4, 5, 5], weight: w),
      [1, 2, 10, 10])
    // onnx refuses such a node ("Integer overflow while multiplying dimension"): nil.
    XCTAssertNil(dims("ConvTranspose", [Attribute("strides", .ints([1 << 62, 1 << 62]))], input: [1, 4, 5, 5], weight: w))
    // With output_shape too: onnxruntime derives the pads from the overflowing size.
    XCTAssertNil(dims("ConvTranspose", [Attribute("strides", .ints([1 << 62, 1 << 62])), Attribute("output_shape", .ints([10, 8]))],
                      input: [1, 4, 5, 5], weight: w))
  }
}
