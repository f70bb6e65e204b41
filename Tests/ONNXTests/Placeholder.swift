import XCTest
@testable import ONNX
final class ONNXPlaceholderTests: XCTestCase { func testModuleLoads() { XCTAssertTrue(true) } }
