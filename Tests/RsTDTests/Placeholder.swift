import XCTest
@testable import RsTD
final class RsTDPlaceholderTests: XCTestCase { func testModuleLoads() { XCTAssertTrue(true) } }
