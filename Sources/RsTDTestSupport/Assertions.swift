import TensorAlgebra
import XCTest

/// ‖a − b‖F / ‖b‖F, accumulated in Double (‖a − b‖F when b is zero).
public func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
  precondition(a.count == b.count, "relativeError: \(a.shape) vs \(b.shape)")
  var d = 0.0, n = 0.0
  for (x, y) in zip(a.scalars, b.scalars) {
    d += (Double(x) - Double(y)) * (Double(x) - Double(y))
    n += Double(y) * Double(y)
  }
  return n == 0 ? d.squareRoot() : (d / n).squareRoot()
}

/// Asserts ‖actual − expected‖F / ‖expected‖F < `tolerance` (shapes equal), and prints the
/// measured error with the tolerance whether it passes or fails.
///
/// The tolerance is stated at the call site with where it comes from (STYLE §11).
public func assertRelativeError(
  _ actual: Tensor, _ expected: Tensor, below tolerance: Double, _ label: String = "",
  file: StaticString = #filePath, line: UInt = #line
) {
  guard actual.shape == expected.shape else {
    XCTFail("\(label): shape \(actual.shape) vs expected \(expected.shape)", file: file, line: line)
    return
  }
  let e = relativeError(actual, expected)
  print("\(label): relative error \(e), tolerance \(tolerance)")
  XCTAssert(e < tolerance, "\(label): relative error \(e) is not below the tolerance \(tolerance)", file: file, line: line)
}
