/// Slice: starts, ends, axes, steps from inputs (opset 10+) or attributes (before), clamped
/// as numpy does; negative steps walk backwards.
struct SliceOp: Operator {
  let attributes: (starts: [Int], ends: [Int], axes: [Int]?)?

  static func build(_ b: OpBuilder) throws -> Operator {
    if b.opset < 10 {
      guard let starts = try b.ints("starts"), let ends = try b.ints("ends") else { throw b.invalid("starts and ends are required") }
      return SliceOp(attributes: (starts, ends, try b.ints("axes")))
    }
    return SliceOp(attributes: nil)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let r = x.shape.count
    let starts: [Int], ends: [Int], axesGiven: [Int]?, stepsGiven: [Int]?
    if let attributes {
      (starts, ends, axesGiven, stepsGiven) = (attributes.starts, attributes.ends, attributes.axes, nil)
    } else {
      starts = try inputs.required(1).requireInts("starts")
      ends = try inputs.required(2).requireInts("ends")
      axesGiven = try inputs.optional(3)?.requireInts("axes")
      stepsGiven = try inputs.optional(4)?.requireInts("steps")
    }
    let axes = try (axesGiven ?? Array(0..<starts.count)).map { try Axes.normalize($0, rank: r) }
    let steps = stepsGiven ?? [Int](repeating: 1, count: starts.count)
    guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else {
      throw OpFailure("starts, ends, axes and steps must have the same length")
    }
    var start = [Int](repeating: 0, count: r), step = [Int](repeating: 1, count: r), counts = x.shape
    for (i, a) in axes.enumerated() {
      let n = x.shape[a], s = steps[i]
      guard s != 0, s != .min else { throw OpFailure("slice step \(s) is invalid") }
      // Clamp before adding n: models use ±INT64_MAX/INT64_MIN for "to the end".
      var b = starts[i] < 0 ? max(starts[i], -n - 1) + n : min(starts[i], n + 1)
      var e = ends[i] < 0 ? max(ends[i], -n - 1) + n : min(ends[i], n + 1)
      if s > 0 {
        b = min(max(b, 0), n); e = min(max(e, 0), n)
        counts[a] = max(0, (e - b + s - 1) / s)
      } else {
        b = min(max(b, -1), n - 1); e = min(max(e, -1), n - 1)
        counts[a] = max(0, (b - e + (-s) - 1) / (-s))
      }
      start[a] = b
      step[a] = s
    }
    let idx = boxIndices(shape: x.shape, start: start, step: step, counts: counts)
    return [x.with(shape: counts, storage: x.storage.picking(idx))]
  }
}
