/// Numpy-style (multidirectional) broadcasting, as ONNX's binary and variadic ops use it.
enum Broadcast {
  /// The broadcast shape of `a` and `b`: right-aligned, each pair of dims equal or one of them 1.
  static func shape(_ a: [Int], _ b: [Int]) throws -> [Int] {
    let r = max(a.count, b.count)
    var out = [Int](repeating: 1, count: r)
    for i in 0..<r {
      let x = i < r - a.count ? 1 : a[i - (r - a.count)]
      let y = i < r - b.count ? 1 : b[i - (r - b.count)]
      guard x == y || x == 1 || y == 1 else { throw OpFailure("shapes \(a) and \(b) do not broadcast") }
      out[i] = x == 1 ? y : x
    }
    return out
  }

  /// Row-major strides of `shape` seen through `output` (rank-aligned), 0 on broadcast axes.
  static func strides(_ shape: [Int], in output: [Int]) -> [Int] {
    let r = output.count
    var strides = [Int](repeating: 0, count: r)
    var step = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
      let o = i + r - shape.count
      strides[o] = shape[i] == 1 ? 0 : step
      step *= shape[i]
    }
    return strides
  }

  /// `f` applied elementwise to `a` and `b` broadcast together.
  static func apply<A, B, R>(
    _ a: [A], _ sa: [Int], _ b: [B], _ sb: [Int], _ f: (A, B) -> R
  ) throws -> (values: [R], shape: [Int]) {
    let out = try shape(sa, sb)
    let count = out.reduce(1, *)
    if sa == sb { return (zip(a, b).map(f), out) }
    if a.count == 1 && count == b.count { let x = a[0]; return (b.map { f(x, $0) }, out) }
    if b.count == 1 && count == a.count { let y = b[0]; return (a.map { f($0, y) }, out) }
    if count == 0 { return ([], out) }
    let ta = strides(sa, in: out), tb = strides(sb, in: out)
    let r = out.count
    let inner = out[r - 1], ia = ta[r - 1], ib = tb[r - 1]
    var result = [R]()
    result.reserveCapacity(count)
    var index = [Int](repeating: 0, count: r)
    var offA = 0, offB = 0
    for _ in 0..<(count / inner) {
      var pa = offA, pb = offB
      for _ in 0..<inner {
        result.append(f(a[pa], b[pb]))
        pa += ia
        pb += ib
      }
      // Advance the odometer over all axes but the last.
      var d = r - 2
      while d >= 0 {
        index[d] += 1
        offA += ta[d]
        offB += tb[d]
        if index[d] < out[d] { break }
        offA -= ta[d] * out[d]
        offB -= tb[d] * out[d]
        index[d] = 0
        d -= 1
      }
    }
    return (result, out)
  }

  /// `x` of shape `s` broadcast to `out` (which must be a broadcast of `s`).
  static func expand<T>(_ x: [T], _ s: [Int], to out: [Int]) -> [T] {
    if s == out { return x }
    let count = out.reduce(1, *)
    if count == 0 { return [] }
    if x.count == 1 { return [T](repeating: x[0], count: count) }
    let t = strides(s, in: out)
    var result = [T]()
    result.reserveCapacity(count)
    let inner = out[out.count - 1], step = t[out.count - 1]
    Axes.forEachRun(counts: out, strides: t) { start in
      var p = start
      for _ in 0..<inner { result.append(x[p]); p += step }
    }
    return result
  }
}
