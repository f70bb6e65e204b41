/// Gather along `axis` with integer indices (negative ones count from the end):
/// out shape = data[:axis] + indices.shape + data[axis+1:].
struct Gather: Operator {
  let axis: Int

  static func build(_ b: OpBuilder) throws -> Operator { Gather(axis: try b.int("axis", default: 0)) }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0), iv = try inputs.required(1)
    let indices = try iv.requireInts("indices")
    let r = x.shape.count
    let a = try Axes.normalize(axis, rank: r)
    let n = x.shape[a], outer = Axes.product(x.shape, 0..<a), inner = Axes.product(x.shape, (a + 1)..<r)
    let resolved = try indices.map { i -> Int in
      let j = i < 0 ? i + n : i
      guard j >= 0 && j < n else { throw OpFailure("index \(i) is out of range for axis \(a) of size \(n)") }
      return j
    }
    // One run of `inner` contiguous values per (outer, index): a channel shuffle copies planes.
    var starts = [Int]()
    starts.reserveCapacity(outer * resolved.count)
    for o in 0..<outer {
      for j in resolved { starts.append((o * n + j) * inner) }
    }
    let shape = Array(x.shape[..<a]) + iv.shape + Array(x.shape[(a + 1)...])
    let storage = inner == 1 ? x.storage.picking(starts) : x.storage.pickingRuns(starts, length: inner)
    return [x.with(shape: shape, storage: storage)]
  }
}
