import ONNX
import TensorAlgebra

/// A slow, obvious interpreter for the few ops the rewriter emits, computing in Double, so tests
/// can compare a model's outputs before and after a rewrite without a runtime.
///
/// Supported: Conv (1-D or 2-D, batch first, group, strides, pads, dilations, every auto_pad),
/// Relu, Gemm, MatMul (2-D × 2-D, or batched [..., m, k] × [k, n]), Gather (1-D indices), Tile,
/// Reshape (positive dims), Transpose, Range, Add, Mul, Mod (same shape or scalar operand),
/// Constant. Integers travel as exact Doubles.
public struct ReferenceEvaluator {
  /// A dense row-major value.
  public struct Value: Equatable {
    public var shape: [Int]
    public var data: [Double]

    public init(shape: [Int], data: [Double]) {
      precondition(data.count == shape.reduce(1, *), "\(data.count) values for shape \(shape)")
      self.shape = shape
      self.data = data
    }

    public init(_ t: Tensor) { self.init(shape: t.shape, data: t.scalars.map(Double.init)) }

    /// Rounded to Float.
    public var tensor: Tensor { Tensor(shape: shape, scalars: data.map { Float($0) }) }
  }

  /// An op or attribute the evaluator does not implement.
  public struct Unsupported: Error, CustomStringConvertible {
    public var description: String
  }

  let graph: Graph

  public init(_ model: Model) { graph = model.graph }

  /// Runs the graph on `inputs` and returns every graph output.
  /// - Throws: `Unsupported`, or `ONNXError` when a constant is malformed.
  public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
    var env = inputs.mapValues(Value.init)
    func value(_ name: String) throws -> Value {
      if let v = env[name] { return v }
      guard let c = try graph.constant(name) else { throw Unsupported(description: "no value '\(name)'") }
      let v = c.elementType != nil
        ? Value(shape: c.shape, data: try c.floats().map(Double.init))
        : Value(shape: c.shape, data: try c.int64s().map(Double.init))
      env[name] = v
      return v
    }
    for node in graph.nodes where node.opType != "Constant" {
      let x = try node.inputs.map { $0.isEmpty ? nil : try value($0) }
      env[node.outputs[0]] = try evaluate(node, x)
    }
    var out: [String: Tensor] = [:]
    for name in graph.outputNames { out[name] = try value(name).tensor }
    return out
  }

  private func evaluate(_ n: Node, _ x: [Value?]) throws -> Value {
    switch n.opType {
    case "Conv": return try conv(n, x[0]!, x[1]!, x.count > 2 ? x[2] : nil)
    case "Relu": return Value(shape: x[0]!.shape, data: x[0]!.data.map { max($0, 0) })
    case "Add": return elementwise(x[0]!, x[1]!, +)
    case "Mul": return elementwise(x[0]!, x[1]!, *)
    case "Mod":
      return elementwise(x[0]!, x[1]!) { a, b in let r = a.truncatingRemainder(dividingBy: b); return r != 0 && (r < 0) != (b < 0) ? r + b : r }
    case "Range":
      let (start, limit, delta) = (x[0]!.data[0], x[1]!.data[0], x[2]!.data[0])
      let count = max(Int(((limit - start) / delta).rounded(.up)), 0)
      return Value(shape: [count], data: (0..<count).map { start + Double($0) * delta })
    case "Reshape":
      let shape = x[1]!.data.map { Int($0) }
      guard shape.allSatisfy({ $0 > 0 }) else { throw Unsupported(description: "Reshape to \(shape)") }
      return Value(shape: shape, data: x[0]!.data)
    case "Transpose":
      let perm = n.ints("perm") ?? Array((0..<x[0]!.shape.count).reversed())
      return transpose(x[0]!, perm)
    case "Gather": return gather(x[0]!, x[1]!, axis: n.int("axis", default: 0))
    case "Tile": return tile(x[0]!, x[1]!.data.map { Int($0) })
    case "MatMul": return try matmul(x[0]!, x[1]!)
    case "Gemm":
      var a = x[0]!, b = x[1]!
      if n.int("transA", default: 0) != 0 { a = transpose(a, [1, 0]) }
      if n.int("transB", default: 0) != 0 { b = transpose(b, [1, 0]) }
      var y = try matmul(a, b)
      let alpha = Double(n.float("alpha", default: 1)), beta = Double(n.float("beta", default: 1))
      let cols = y.shape[1]
      for i in y.data.indices {
        y.data[i] *= alpha
        if x.count > 2, let c = x[2] { y.data[i] += beta * (c.data.count == 1 ? c.data[0] : c.data.count == cols ? c.data[i % cols] : c.data[i]) }
      }
      return y
    default:
      throw Unsupported(description: "op \(n.opType)")
    }
  }

  private func elementwise(_ a: Value, _ b: Value, _ f: (Double, Double) -> Double) -> Value {
    if b.data.count == 1 { return Value(shape: a.shape, data: a.data.map { f($0, b.data[0]) }) }
    if a.data.count == 1 { return Value(shape: b.shape, data: b.data.map { f(a.data[0], $0) }) }
    precondition(a.shape == b.shape, "broadcast \(a.shape) with \(b.shape) is not supported")
    return Value(shape: a.shape, data: zip(a.data, b.data).map(f))
  }

  private func strides(_ shape: [Int]) -> [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    for i in stride(from: shape.count - 2, through: 0, by: -1) { s[i] = s[i + 1] * shape[i + 1] }
    return s
  }

  private func transpose(_ v: Value, _ perm: [Int]) -> Value {
    let shape = perm.map { v.shape[$0] }
    let src = strides(v.shape)
    var out = [Double](repeating: 0, count: v.data.count)
    var idx = [Int](repeating: 0, count: shape.count)
    for o in 0..<out.count {
      var rem = o, offset = 0
      for d in stride(from: shape.count - 1, through: 0, by: -1) {
        idx[d] = rem % shape[d]; rem /= shape[d]
        offset += idx[d] * src[perm[d]]
      }
      out[o] = v.data[offset]
    }
    return Value(shape: shape, data: out)
  }

  private func gather(_ v: Value, _ indices: Value, axis: Int) -> Value {
    let outer = v.shape[..<axis].reduce(1, *), inner = v.shape[(axis + 1)...].reduce(1, *), n = v.shape[axis]
    let idx = indices.data.map { Int($0) < 0 ? Int($0) + n : Int($0) }
    var out: [Double] = []
    out.reserveCapacity(outer * idx.count * inner)
    for o in 0..<outer { for i in idx { out += v.data[(o * n + i) * inner..<(o * n + i + 1) * inner] } }
    var shape = v.shape
    shape.replaceSubrange(axis...axis, with: indices.shape)
    return Value(shape: shape, data: out)
  }

  private func tile(_ v: Value, _ repeats: [Int]) -> Value {
    let shape = zip(v.shape, repeats).map { $0 * $1 }
    let src = strides(v.shape)
    var out = [Double](repeating: 0, count: shape.reduce(1, *))
    for o in 0..<out.count {
      var rem = o, offset = 0
      for d in stride(from: shape.count - 1, through: 0, by: -1) {
        offset += (rem % shape[d]) % v.shape[d] * src[d]; rem /= shape[d]
      }
      out[o] = v.data[offset]
    }
    return Value(shape: shape, data: out)
  }

  private func matmul(_ a: Value, _ b: Value) throws -> Value {
    guard b.shape.count == 2, a.shape.count >= 2, a.shape.last == b.shape[0] else {
      throw Unsupported(description: "MatMul \(a.shape) × \(b.shape)")
    }
    let k = b.shape[0], n = b.shape[1], rows = a.data.count / k
    var out = [Double](repeating: 0, count: rows * n)
    for i in 0..<rows { for p in 0..<k { let x = a.data[i * k + p]; for j in 0..<n { out[i * n + j] += x * b.data[p * n + j] } } }
    return Value(shape: a.shape.dropLast() + [n], data: out)
  }

  private func conv(_ n: Node, _ x0: Value, _ w0: Value, _ b: Value?) throws -> Value {
    var x = x0, w = w0
    var s = n.ints("strides") ?? [1, 1], d = n.ints("dilations") ?? [1, 1]
    var pads = n.ints("pads")
    let oneD = x.shape.count == 3
    if oneD {
      // A 1-D conv is a 2-D conv over a height of 1.
      x.shape.insert(1, at: 2)
      w.shape.insert(1, at: 2)
      s = [1] + (n.ints("strides") ?? [1])
      d = [1] + (n.ints("dilations") ?? [1])
      pads = pads.map { [0, $0[0], 0, $0[1]] }
    }
    guard x.shape.count == 4, w.shape.count == 4 else { throw Unsupported(description: "Conv on \(x0.shape) with \(w0.shape)") }
    let autoPad = n.string("auto_pad") ?? "NOTSET"
    let (batch, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (m, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    let g = n.int("group", default: 1)
    guard c == cg * g, m % g == 0 else { throw Unsupported(description: "Conv channels \(c) vs \(cg)×\(g)") }
    var p = pads ?? [0, 0, 0, 0]
    switch autoPad {
    case "NOTSET": break
    case "VALID": p = [0, 0, 0, 0]
    case "SAME_UPPER", "SAME_LOWER":
      // Output ceil(in / stride); the odd unit of padding goes to the end (UPPER) or start (LOWER).
      for (axis, size, k) in [(0, h, kh), (1, wd, kw)] {
        let out = (size + s[axis] - 1) / s[axis]
        let total = max(0, (out - 1) * s[axis] + (k - 1) * d[axis] + 1 - size)
        let begin = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
        p[axis] = begin
        p[axis + 2] = total - begin
      }
    default: throw Unsupported(description: "auto_pad \(autoPad)")
    }
    let oh = (h + p[0] + p[2] - d[0] * (kh - 1) - 1) / s[0] + 1
    let ow = (wd + p[1] + p[3] - d[1] * (kw - 1) - 1) / s[1] + 1
    let mg = m / g
    var out = [Double](repeating: 0, count: batch * m * oh * ow)
    for bi in 0..<batch { for o in 0..<m {
      let gi = o / mg
      for y in 0..<oh { for xo in 0..<ow {
        var acc = b?.data[o] ?? 0
        for ci in 0..<cg { for i in 0..<kh { for j in 0..<kw {
          let iy = y * s[0] - p[0] + i * d[0], ix = xo * s[1] - p[1] + j * d[1]
          guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
          acc += w.data[((o * cg + ci) * kh + i) * kw + j] * x.data[((bi * c + gi * cg + ci) * h + iy) * wd + ix]
        } } }
        out[((bi * m + o) * oh + y) * ow + xo] = acc
      } }
    } }
    return Value(shape: oneD ? [batch, m, ow] : [batch, m, oh, ow], data: out)
  }
}
