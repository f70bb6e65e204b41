import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

/// The hygiene check the format tests rely on can fail.
final class HygieneCheckTests: XCTestCase {
  // Out of order, a duplicated value and a duplicated node name:
  //   Relu "a" (t → u)   reads t before it exists
  //   Relu "a" (x → t)
  //   Relu "c" (x → u)   defines u a second time
  func testHygieneProblemsAreFound() throws {
    var b = TestGraphBuilder()
    b.input("x", shape: [1, 4])
    b.node("Relu", name: "a", inputs: ["t"], outputs: ["u"])
    b.node("Relu", name: "a", inputs: ["x"], outputs: ["t"])
    b.node("Relu", name: "c", inputs: ["x"], outputs: ["u"])
    b.output("u", shape: [1, 4])
    XCTAssertEqual(
      try hygieneProblems(try b.model()),
      ["node 0 'a' (Relu) reads 't' before it is defined", "value 'u' is defined twice", "node name 'a' is used twice"])
  }

  // x ─▶ Relu "a" ─▶ t ─▶ Relu "b" ─▶ y
  func testAWellFormedGraphHasNoProblems() throws {
    var b = TestGraphBuilder()
    b.input("x", shape: [1, 4])
    b.node("Relu", name: "a", inputs: ["x"], outputs: ["t"])
    b.node("Relu", name: "b", inputs: ["t"], outputs: ["y"])
    b.output("y", shape: [1, 4])
    XCTAssertEqual(try hygieneProblems(try b.model()), [])
  }
}
