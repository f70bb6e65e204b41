import XCTest
@testable import TensorAlgebra

final class ParallelTests: XCTestCase {
  func testParallelMapOrderAndBitEqualityAcrossWorkerCounts() throws {
    var g = NormalGenerator(seed: 50)
    let kernels = (0..<6).map { _ in g.tensor([24, 16, 3, 3]) }
    let one = try parallelMap(kernels, workers: 1) { try tucker2($0, ranks: (output: 8, input: 6)) }
    let two = try parallelMap(kernels, workers: 2) { try tucker2($0, ranks: (output: 8, input: 6)) }
    let all = try parallelMap(kernels) { try tucker2($0, ranks: (output: 8, input: 6)) }
    XCTAssertEqual(one, two, "1 and 2 workers must give the same bits")
    XCTAssertEqual(one, all)
    let cp1 = try parallelMap(kernels, workers: 1) { try cp($0, rank: 5, options: .init(maxSweeps: 5)) }
    let cp2 = try parallelMap(kernels, workers: 2) { try cp($0, rank: 5, options: .init(maxSweeps: 5)) }
    XCTAssertEqual(cp1, cp2)
    XCTAssertEqual(try parallelMap(Array(0..<100), workers: 2) { $0 * $0 }, (0..<100).map { $0 * $0 })
  }

  func testParallelMapRethrowsLowestIndexError() {
    XCTAssertThrowsError(try parallelMap([2, 0, 5, 0], workers: 2) { r -> Int in
      _ = try lowRankSVD(Tensor(zeros: [3, 3]), rank: r); return r
    }) { XCTAssertEqual($0 as? DecompositionError, .rankBelowOne(name: "rank", rank: 0)) }
  }

  func testFactorGroupsEqualsPerGroupResults() throws {
    var g = NormalGenerator(seed: 51)
    let w = g.tensor([12, 4, 3, 3])  // 3 groups of 4 output channels
    let grouped = try factorGroups(w, groups: 3) { try tucker2($0, ranks: (output: 2, input: 2)) }
    XCTAssertEqual(grouped.count, 3)
    for j in 0..<3 {
      let slice = Tensor(shape: [4, 4, 3, 3], scalars: Array(w.scalars[(j * 144)..<((j + 1) * 144)]))
      XCTAssertEqual(grouped[j], try tucker2(slice, ranks: (output: 2, input: 2)), "group \(j)")
    }
    XCTAssertThrowsError(try factorGroups(w, groups: 5) { $0 }) {
      XCTAssertEqual("\($0)", "5 groups do not divide the 12 output channels.")
    }
  }
}
