/// Float Add, Sub, Mul and Div with numpy broadcasting, in loops specialised per operation.
///
/// `Broadcast.apply` calls a closure per element through a generic odometer (~5 ns an element);
/// these ops are most of the elementwise work in real CNNs (PP-OCR det: bias and scalar adds,
/// HardSwish's Add/Div/Mul, squeeze-excitation's per-channel products — half its run time). Here
/// axes of size 1 are dropped and adjacent axes merged where both inputs stay contiguous (or both
/// broadcast), so the common cases become one or a few long runs with unit or zero strides that
/// the compiler vectorises. Each element is computed by the same single IEEE operation as before,
/// so results are bit-identical; pieces are fixed by the shapes (same bits for any thread count).
enum FloatArithmetic {
  enum Operation { case add, sub, mul, div }

  /// `x ∘ y` broadcast together.
  /// - Throws: `OpFailure` when the shapes do not broadcast.
  static func apply(_ op: Operation, _ x: [Float], _ sx: [Int], _ y: [Float], _ sy: [Int], threads: Int) throws -> (values: [Float], shape: [Int]) {
    switch op {
    case .add: return try run(Add.self, x, sx, y, sy, threads: threads)
    case .sub: return try run(Sub.self, x, sx, y, sy, threads: threads)
    case .mul: return try run(Mul.self, x, sx, y, sy, threads: threads)
    case .div: return try run(Div.self, x, sx, y, sy, threads: threads)
    }
  }

  private protocol Kernel { static func f(_ a: Float, _ b: Float) -> Float }
  private enum Add: Kernel { @inline(__always) static func f(_ a: Float, _ b: Float) -> Float { a + b } }
  private enum Sub: Kernel { @inline(__always) static func f(_ a: Float, _ b: Float) -> Float { a - b } }
  private enum Mul: Kernel { @inline(__always) static func f(_ a: Float, _ b: Float) -> Float { a * b } }
  private enum Div: Kernel { @inline(__always) static func f(_ a: Float, _ b: Float) -> Float { a / b } }

  private static func run<K: Kernel>(_: K.Type, _ x: [Float], _ sx: [Int], _ y: [Float], _ sy: [Int], threads: Int) throws -> (values: [Float], shape: [Int]) {
    let shape = try Broadcast.shape(sx, sy)
    let n = shape.reduce(1, *)
    if n == 0 { return ([], shape) }
    // Coalesced axes: (size, stride in x, stride in y), outermost first.
    var axes: [(size: Int, a: Int, b: Int)] = []
    for (size, (a, b)) in zip(shape, zip(Broadcast.strides(sx, in: shape), Broadcast.strides(sy, in: shape))) where size > 1 {
      if let last = axes.last, last.a == a * size, last.b == b * size {
        axes[axes.count - 1] = (last.size * size, a, b)
      } else {
        axes.append((size, a, b))
      }
    }
    if axes.isEmpty { axes = [(1, 0, 0)] }
    let inner = axes[axes.count - 1]
    let outer = Array(axes.dropLast())
    let values = [Float](unsafeUninitializedCapacity: n) { out, initialized in
      x.withUnsafeBufferPointer { px in
        y.withUnsafeBufferPointer { py in
          let pieces = (n + elementwisePiece - 1) / elementwisePiece
          parallelFor(pieces, threads: n < elementwiseParallelMinimum ? 1 : threads) { piece in
            let start = piece * elementwisePiece, end = min(n, start + elementwisePiece)
            // Position of `start`: offset within the inner run, and the outer odometer.
            var index = [Int](repeating: 0, count: outer.count)
            var rest = start / inner.size
            var offA = 0, offB = 0
            for d in stride(from: outer.count - 1, through: 0, by: -1) {
              index[d] = rest % outer[d].size
              rest /= outer[d].size
              offA += index[d] * outer[d].a
              offB += index[d] * outer[d].b
            }
            var i = start % inner.size
            var o = start
            while o < end {
              let count = min(inner.size - i, end - o)
              let pa = px.baseAddress! + offA + i * inner.a, pb = py.baseAddress! + offB + i * inner.b
              let po = out.baseAddress! + o
              switch (inner.a, inner.b) {
              case (1, 1): for k in 0..<count { po[k] = K.f(pa[k], pb[k]) }
              case (1, 0): let v = pb[0]; for k in 0..<count { po[k] = K.f(pa[k], v) }
              case (0, 1): let v = pa[0]; for k in 0..<count { po[k] = K.f(v, pb[k]) }
              default: for k in 0..<count { po[k] = K.f(pa[k * inner.a], pb[k * inner.b]) }
              }
              o += count
              i = 0
              // Advance the outer odometer by one run.
              var d = outer.count - 1
              while d >= 0 {
                index[d] += 1
                offA += outer[d].a
                offB += outer[d].b
                if index[d] < outer[d].size { break }
                offA -= outer[d].a * outer[d].size
                offB -= outer[d].b * outer[d].size
                index[d] = 0
                d -= 1
              }
            }
          }
        }
      }
      initialized = n
    }
    return (values, shape)
  }
}
