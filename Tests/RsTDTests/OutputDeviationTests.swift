import Executor
import XCTest

@testable import RsTD

/// One measure for the output check and `onnx-rstd verify`: relative L2 for every kind (verify),
/// the check's error (mismatch fraction for integer and boolean outputs), and the problems.
final class OutputDeviationTests: XCTestCase {
  func testFloatOutputIsRelativeL2OverAllRuns() {
    var d = OutputDeviation(name: "y")
    d.add(reference: TensorValue(shape: [2], floats: [3, 0]), candidate: TensorValue(shape: [2], floats: [3, 1]))
    d.add(reference: TensorValue(shape: [2], floats: [0, 4]), candidate: TensorValue(shape: [2], floats: [0, 4]))
    XCTAssertEqual(d.relativeL2!, 1.0 / 5.0, accuracy: 1e-12)
    XCTAssertEqual(d.error, d.relativeL2!)
    XCTAssertEqual(d.maxAbs, 1)
    XCTAssertNil(d.problem)
  }

  func testIntegerOutputErrorIsTheMismatchFraction() {
    var d = OutputDeviation(name: "label")
    d.add(reference: TensorValue(shape: [4], integers: [1, 2, 3, 4]), candidate: TensorValue(shape: [4], integers: [1, 2, 3, 5]))
    XCTAssertEqual(d.error, 0.25)
    XCTAssertEqual(d.relativeL2!, 1 / Double(30).squareRoot(), accuracy: 1e-12)
  }

  func testProblemsMakeTheOutputIncomparable() {
    var missing = OutputDeviation(name: "y")
    missing.add(reference: TensorValue(shape: [1], floats: [1]), candidate: nil)
    XCTAssertEqual(missing.problem, "missing from the rewritten model")
    XCTAssertNil(missing.relativeL2)
    XCTAssertEqual(missing.error, 1)

    var kind = OutputDeviation(name: "y")
    kind.add(reference: TensorValue(shape: [1], floats: [1]), candidate: TensorValue(shape: [1], integers: [1]))
    XCTAssertEqual(kind.problem, "int64 in the rewritten model, float32 in the original")

    var overflow = OutputDeviation(name: "y")
    overflow.add(reference: TensorValue(shape: [1], floats: [1]), candidate: TensorValue(shape: [1], floats: [.nan]))
    XCTAssertEqual(overflow.problem, "non-finite values in the rewritten model")
    XCTAssertEqual(overflow.error, .infinity)
  }
}
