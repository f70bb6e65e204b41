import Foundation

/// ReduceSum/Mean/Max/Min/Prod/SumSquare/L1/L2/LogSum/LogSumExp over `axes` (all when none),
/// keepdims, noop_with_empty_axes. Axes come from the attribute, or from the second input
/// (ReduceSum from opset 13, the others from 18). Float sums accumulate in Double.
struct Reduce: Operator {
  enum Kind: String, Sendable {
    case sum = "ReduceSum", mean = "ReduceMean", max = "ReduceMax", min = "ReduceMin", prod = "ReduceProd"
    case sumSquare = "ReduceSumSquare", l1 = "ReduceL1", l2 = "ReduceL2", logSum = "ReduceLogSum"
    case logSumExp = "ReduceLogSumExp"
  }
  let kind: Kind
  let axesAttribute: [Int]?
  let keepDims: Bool
  let noopWithEmptyAxes: Bool

  static let opTypes = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp"]

  static func build(_ b: OpBuilder) throws -> Operator {
    guard let kind = Kind(rawValue: b.node.opType) else { throw b.unsupported("op \(b.node.opType)") }
    let axesAsInput = b.opset >= 18 || (kind == .sum && b.opset >= 13)
    return Reduce(
      kind: kind, axesAttribute: axesAsInput ? nil : try b.ints("axes"), keepDims: try b.int("keepdims", default: 1) != 0,
      noopWithEmptyAxes: axesAsInput ? try b.int("noop_with_empty_axes", default: 0) != 0 : false)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let r = x.shape.count
    var axes = try axesAttribute ?? inputs.optional(1)?.requireInts("axes") ?? []
    if axes.isEmpty {
      if noopWithEmptyAxes { return [x] }
      axes = Array(0..<r)
    }
    let reduced = try Set(axes.map { try Axes.normalize($0, rank: r) })
    let keptShape = x.shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
    let outShape = keepDims ? keptShape : x.shape.enumerated().filter { !reduced.contains($0.offset) }.map(\.element)
    let outCount = keptShape.reduce(1, *)
    // Output slot of every input position.
    let target = Broadcast.expand(Array(0..<outCount), keptShape, to: x.shape)
    let groupSize = reduced.reduce(1) { $0 * x.shape[$1] }
    switch x.storage {
    case .floats(let v):
      var acc = [Double](repeating: initial, count: outCount)
      for (i, t) in target.enumerated() { acc[t] = combine(acc[t], Double(v[i])) }
      let out = acc.map { Float(finish($0, count: groupSize)) }
      return [x.with(shape: outShape, storage: .floats(out))]
    case .integers(let v):
      guard [.sum, .max, .min, .prod, .mean, .sumSquare, .l1].contains(kind) else { throw OpFailure("\(kind.rawValue) needs a floating-point input") }
      var acc = [Int64](repeating: kind == .max ? .min : (kind == .min ? .max : (kind == .prod ? 1 : 0)), count: outCount)
      for (i, t) in target.enumerated() {
        let e = v[i]
        switch kind {
        case .max: acc[t] = Swift.max(acc[t], e)
        case .min: acc[t] = Swift.min(acc[t], e)
        case .prod: acc[t] = acc[t] &* e
        case .sumSquare: acc[t] = acc[t] &+ e &* e
        case .l1: acc[t] = acc[t] &+ Swift.abs(e)
        default: acc[t] = acc[t] &+ e
        }
      }
      if kind == .mean { acc = acc.map { groupSize > 0 ? $0 / Int64(groupSize) : 0 } }
      return [x.with(shape: outShape, storage: .integers(acc))]
    case .bools:
      throw OpFailure("\(kind.rawValue) does not take BOOL")
    }
  }

  private var initial: Double {
    switch kind {
    case .max: -.infinity
    case .min: .infinity
    case .prod: 1
    default: 0
    }
  }

  private func combine(_ a: Double, _ x: Double) -> Double {
    switch kind {
    case .sum, .mean, .logSum: a + x
    case .max: x.isNaN || a.isNaN ? .nan : Swift.max(a, x)
    case .min: x.isNaN || a.isNaN ? .nan : Swift.min(a, x)
    case .prod: a * x
    case .sumSquare, .l2: a + x * x
    case .l1: a + Swift.abs(x)
    case .logSumExp: a + Foundation.exp(x)
    }
  }

  private func finish(_ a: Double, count: Int) -> Double {
    switch kind {
    case .mean: a / Double(count)
    case .l2: a.squareRoot()
    case .logSum, .logSumExp: Foundation.log(a)
    default: a
    }
  }
}
