import XCTest

@testable import ONNX

/// The graph's name table: numbers in order of first use, every name found under its own number
/// through the table's growth, names that share prefixes or bytes kept apart.
final class NameTableTests: XCTestCase {
  func testNamesAreNumberedInOrderOfFirstUseAndFoundAgain() {
    var table = NameTable()
    var names: [String] = ["a", "ab", "abc", "b", "conv0/rebuild_matmul_out", "Ä", "名前", "x\u{0}y", String(repeating: "z", count: 300)]
    for i in 0..<20_000 { names.append("site\(i)/w") }
    for (i, name) in names.enumerated() {
      var isNew = false
      XCTAssertEqual(table.intern(name, isNew: &isNew), NameID(i))
      XCTAssertTrue(isNew, name)
    }
    XCTAssertEqual(table.count, names.count)
    for (i, name) in names.enumerated() {
      var isNew = true
      XCTAssertEqual(table.intern(name, isNew: &isNew), NameID(i))
      XCTAssertFalse(isNew, name)
      XCTAssertEqual(table.id(of: name), NameID(i))
      XCTAssertEqual(table.string(NameID(i)), name)
    }
    for absent in ["", "a ", "site20000/w", "abcd", "Ä\u{301}", "x"] { XCTAssertNil(table.id(of: absent), absent) }
    XCTAssertTrue(table.isConsistent)
  }

  func testAnEmptyTableFindsNothingAndReservingKeepsNumbers() {
    var table = NameTable()
    XCTAssertNil(table.id(of: "x"))
    var isNew = false
    XCTAssertEqual(table.intern("x", isNew: &isNew), 0)
    table.reserveCapacity(10_000)
    XCTAssertEqual(table.id(of: "x"), 0)
    XCTAssertEqual(table.intern("y", isNew: &isNew), 1)
    XCTAssertEqual(table.string(1), "y")
  }
}
