/// Axis arithmetic shared by the shape ops.
enum Axes {
  /// `axis` (possibly negative) as an index into a rank-`rank` shape.
  static func normalize(_ axis: Int, rank: Int) throws -> Int {
    let a = axis < 0 ? axis + rank : axis
    guard a >= 0 && a < max(rank, 1) else { throw OpFailure("axis \(axis) is out of range for rank \(rank)") }
    return a
  }

  /// Row-major strides of `shape`.
  static func strides(_ shape: [Int]) -> [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    var step = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = step; step *= shape[i] }
    return s
  }

  /// Product of `shape[range]`.
  static func product(_ shape: [Int], _ range: Range<Int>) -> Int {
    range.reduce(1) { $0 * shape[$1] }
  }

  /// The most elements one computed tensor may hold in the current run (`ExecutorOptions.
  /// maxElements`, bound around each run): a shape read from data beyond it is an error, not an
  /// allocation that takes the process down.
  @TaskLocal static var maxElements = ExecutorOptions.defaultMaxElements

  /// The element count of `shape`, or a failure when a size is negative, the product
  /// overflows or exceeds `maxElements` (shapes computed at run time come from data).
  static func checkedCount(_ shape: [Int]) throws -> Int {
    var count = 1
    for d in shape {
      guard d >= 0 else { throw OpFailure("shape \(shape) has a negative size") }
      let (p, overflow) = count.multipliedReportingOverflow(by: d)
      guard !overflow else { throw OpFailure("shape \(shape) has too many elements") }
      count = p
    }
    guard count <= maxElements else {
      throw OpFailure("a tensor of shape \(shape) (\(count) elements, over the executor's limit of \(maxElements))", limit: true)
    }
    return count
  }

  /// Visits, in row-major order of `counts`, the start offset of each innermost run of a
  /// strided walk where axis d advances the offset by `strides[d]` (an odometer: no division
  /// per element); a run is `counts.last` elements stepping `strides.last`, left to `body`.
  /// - Precondition: at least one axis and no empty one.
  @inline(__always)
  static func forEachRun(counts: [Int], strides: [Int], _ body: (Int) -> Void) {
    let r = counts.count
    let runs = counts.dropLast().reduce(1, *)
    var index = [Int](repeating: 0, count: r)
    var offset = 0
    for _ in 0..<runs {
      body(offset)
      var d = r - 2
      while d >= 0 {
        index[d] += 1
        offset += strides[d]
        if index[d] < counts[d] { break }
        offset -= strides[d] * counts[d]
        index[d] = 0
        d -= 1
      }
    }
  }
}

/// `d` truncated toward zero into Int64, saturating at the ends and 0 for NaN: a float result
/// headed for an integer tensor must never trap.
func saturatingInt64(_ d: Double) -> Int64 {
  if d.isNaN { return 0 }
  if d >= 9.223372036854775807e18 { return .max }
  if d <= -9.223372036854775808e18 { return .min }
  return Int64(d)
}
