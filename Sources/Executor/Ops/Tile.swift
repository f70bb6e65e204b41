/// Tile: axis i repeated repeats[i] times.
struct Tile: Operator {
  static func build(_ b: OpBuilder) throws -> Operator { Tile() }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let repeats = try inputs.required(1).requireInts("repeats")
    let r = x.shape.count
    guard repeats.count == r, repeats.allSatisfy({ $0 >= 0 }) else {
      throw OpFailure("repeats \(repeats) must hold \(r) non-negative values")
    }
    let shape = try zip(x.shape, repeats).map { d, r -> Int in
      let (p, overflow) = d.multipliedReportingOverflow(by: r)
      guard !overflow else { throw OpFailure("repeats \(repeats) make too many elements") }
      return p
    }
    _ = try Axes.checkedCount(shape)
    let total = shape.reduce(1, *)
    if total == 0 || r == 0 { return [x.with(shape: shape, storage: x.storage.picking(Array(0..<total)))] }
    // Output axis d is (repeat t, position i) = t·x.shape[d] + i: an odometer over those 2r
    // axes, the repeat stepping 0 in x, copies x's rows whole (a division per axis and element
    // before; a kron site's Tile is folded at every compile of the check). Trailing axes that
    // repeat once are contiguous in x and the output alike: one run (kron's [A1, 1, 1, 1]
    // copies the whole kernel A1 times).
    let strides = Axes.strides(x.shape)
    let k = (repeats.lastIndex { $0 != 1 } ?? -1) + 1
    var counts = (0..<k).flatMap { [repeats[$0], x.shape[$0]] }
    var steps = (0..<k).flatMap { [0, strides[$0]] }
    if k < r {
      counts.append(x.shape[k...].reduce(1, *))
      steps.append(1)
    }
    let length = counts.last!
    var starts: [Int] = []
    starts.reserveCapacity(total / length)
    Axes.forEachRun(counts: counts, strides: steps) { starts.append($0) }
    return [x.with(shape: shape, storage: x.storage.pickingRuns(starts, length: length))]
  }
}
