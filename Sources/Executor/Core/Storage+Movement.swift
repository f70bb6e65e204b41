import ONNX

/// Type-independent data movement for the shape ops: each works on any storage kind.
extension TensorData.Values {
  /// The runs `start..<start + length` for each of `starts`, in that order: `picking` of every
  /// index in them, one slice copy per run (Gather along an inner axis moves whole rows).
  func pickingRuns(_ starts: [Int], length: Int) -> Self {
    // One copy per run into storage allocated once (appending slices retained and checked
    // each one: Tile's runs of 3 floats spent more there than in the copies).
    func runs<T>(_ v: [T]) -> [T] {
      let count = starts.count * length
      return [T](unsafeUninitializedCapacity: count) { out, initialized in
        v.withUnsafeBufferPointer { src in
          var o = 0
          for s in starts {
            precondition(s >= 0 && s + length <= src.count, "run \(s)..<\(s + length) outside \(src.count) values")
            (out.baseAddress! + o).initialize(from: src.baseAddress! + s, count: length)
            o += length
          }
        }
        initialized = count
      }
    }
    switch self {
    case .floats(let v): return .floats(runs(v))
    case .integers(let v): return .integers(runs(v))
    case .bools(let v): return .bools(runs(v))
    }
  }

  /// The values at `indices`, in that order.
  func picking(_ indices: [Int]) -> Self {
    switch self {
    case .floats(let v): .floats(indices.map { v[$0] })
    case .integers(let v): .integers(indices.map { v[$0] })
    case .bools(let v): .bools(indices.map { v[$0] })
    }
  }

  /// The values broadcast from `shape` to `output`.
  func expanded(from shape: [Int], to output: [Int]) -> Self {
    switch self {
    case .floats(let v): .floats(Broadcast.expand(v, shape, to: output))
    case .integers(let v): .integers(Broadcast.expand(v, shape, to: output))
    case .bools(let v): .bools(Broadcast.expand(v, shape, to: output))
    }
  }

  /// Whether `other` has the same storage kind.
  func sameKind(as other: Self) -> Bool {
    switch (self, other) {
    case (.floats, .floats), (.integers, .integers), (.bools, .bools): true
    default: false
    }
  }

  /// `parts` concatenated in order; all must share one kind.
  static func joined(_ parts: [Self]) throws -> Self {
    guard let first = parts.first else { throw OpFailure("nothing to concatenate") }
    switch first {
    case .floats:
      return .floats(try parts.flatMap { p -> [Float] in guard case .floats(let v) = p else { throw mixed }; return v })
    case .integers:
      return .integers(try parts.flatMap { p -> [Int64] in guard case .integers(let v) = p else { throw mixed }; return v })
    case .bools:
      return .bools(try parts.flatMap { p -> [Bool] in guard case .bools(let v) = p else { throw mixed }; return v })
    }
  }

  /// `count` copies of one scalar of this storage's kind, from a float, integer or bool value.
  static func filled(like value: TensorValue, count: Int) throws -> Self {
    switch value.storage {
    case .floats(let v): return .floats([Float](repeating: v.first ?? 0, count: count))
    case .integers(let v): return .integers([Int64](repeating: v.first ?? 0, count: count))
    case .bools(let v): return .bools([Bool](repeating: v.first ?? false, count: count))
    }
  }
}

private let mixed = OpFailure("inputs mix element types")

/// Source positions of a row-major walk over the box `lower + step·i` (i < `counts`) of a
/// tensor of shape `shape`: the index list behind Slice, Pad's copy and Transpose.
func boxIndices(shape: [Int], start: [Int], step: [Int], counts: [Int]) -> [Int] {
  let total = counts.reduce(1, *)
  if total == 0 { return [] }
  let strides = Axes.strides(shape)
  let r = shape.count
  if r == 0 { return [0] }
  var result = [Int]()
  result.reserveCapacity(total)
  var index = [Int](repeating: 0, count: r)
  var offset = zip(start, strides).reduce(0) { $0 + $1.0 * $1.1 }
  let innerStep = step[r - 1] * strides[r - 1], inner = counts[r - 1]
  for _ in 0..<(total / inner) {
    var p = offset
    for _ in 0..<inner { result.append(p); p += innerStep }
    var d = r - 2
    while d >= 0 {
      index[d] += 1
      offset += step[d] * strides[d]
      if index[d] < counts[d] { break }
      offset -= step[d] * strides[d] * counts[d]
      index[d] = 0
      d -= 1
    }
  }
  return result
}
