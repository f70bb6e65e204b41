import XCTest
@testable import TensorAlgebra
final class TensorAlgebraPlaceholderTests: XCTestCase { func testModuleLoads() { XCTAssertTrue(true) } }
