import RsTDTestSupport
import XCTest

@testable import Executor

/// The specialised float Add/Sub/Mul/Div loops against the generic `Broadcast.apply` they
/// replace: the same single IEEE operation per element, so the bits must be equal — for every
/// broadcast pattern, across piece boundaries, for 1 and 2 threads.
final class FloatArithmeticTests: XCTestCase {
  func testBitIdenticalToGenericBroadcastForEveryPattern() throws {
    let pairs: [([Int], [Int])] = [
      ([2, 3, 4], [2, 3, 4]),  // same shape
      ([1, 48, 92, 92], [1]),  // scalar on the right, several pieces
      ([1], [1, 16, 90, 90]),  // scalar on the left
      ([1, 24, 64, 64], [1, 24, 1, 1]),  // per channel (squeeze-excitation), coalesced to runs of 4096
      ([1, 24, 1, 1], [1, 24, 64, 64]),
      ([3, 1, 5], [1, 4, 1]),  // outer product: both broadcast, no coalescing
      ([5, 7], [7]),  // row vector
      ([5, 1], [5, 7]),  // column vector: inner stride 0 on the left
      ([2, 0, 3], [3]),  // empty
      ([], []),  // scalars
      ([4, 1, 70_000], [1, 3, 1]),  // a run longer than a piece, broadcast in the middle
    ]
    var rng = SeededNormal(seed: 11)
    for (sa, sb) in pairs {
      let a = (0..<sa.reduce(1, *)).map { _ in rng.next() }
      // Some zeros in the divisor: x/0 and 0/0 must give the same infinities and NaN bits.
      let b = (0..<sb.reduce(1, *)).map { i in i % 7 == 3 ? 0 : rng.next() }
      let cases: [(FloatArithmetic.Operation, (Float, Float) -> Float)] = [(.add, +), (.sub, -), (.mul, *), (.div, /)]
      for (op, f) in cases {
        let expected = try Broadcast.apply(a, sa, b, sb, f)
        for threads in [1, 2] {
          let got = try FloatArithmetic.apply(op, a, sa, b, sb, threads: threads)
          XCTAssertEqual(got.shape, expected.shape, "\(op) \(sa) \(sb)")
          XCTAssertEqual(got.values.map(\.bitPattern), expected.values.map(\.bitPattern), "\(op) \(sa) \(sb) threads \(threads)")
        }
      }
    }
  }

  func testShapesThatDoNotBroadcastThrow() {
    XCTAssertThrowsError(try FloatArithmetic.apply(.add, [1, 2, 3], [3], [1, 2], [2], threads: 1))
  }
}
