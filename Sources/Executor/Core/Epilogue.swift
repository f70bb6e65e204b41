/// Elementwise nodes that follow a Conv, applied by the Conv to each output tile right after its
/// sgemm, while the tile is still in cache (`ConvFusion` finds them). Each stage computes the
/// very IEEE operations of the node it replaces, in the same order, so results are bit-identical
/// to running the nodes one by one — without a pass over memory and a fresh buffer per node.
struct Epilogue: Sendable {
  enum Stage: Sendable {
    /// Add/Sub/Mul/Div with a one-value constant; `constantFirst` for `c ∘ x`.
    case arithmetic(FloatArithmetic.Operation, Float, constantFirst: Bool)
    /// BatchNormalization (inference) as per-channel `x · k + shift`, folded as the op does.
    case affine(k: [Float], shift: [Float])
    /// Clip with float bounds (NaN passes through, as Clip).
    case clip(Float, Float)
    case relu
    /// HardSigmoid: min(1, max(0, alpha · x + beta)).
    case hardSigmoid(Float, Float)
    /// The first three nodes of a decomposed HardSwish, Add(x, c) → Clip(lo, hi) → Mul(x, ·):
    /// x · clip(x + c).
    case timesClippedShift(Float, Float, Float)
    /// Mul by a then Add b (PP-OCR's learnable affine blocks) in one pass: x · a + b.
    case scaleShift(Float, Float)
    /// `timesClippedShift` then Div by d (the whole decomposed HardSwish) in one pass.
    case timesClippedShiftOver(Float, Float, Float, Float)
  }

  let stages: [Stage]

  /// Merges the stage pairs that have a one-pass form (each value goes through the same IEEE
  /// operations in the same order: the same bits, one pass over the tile fewer per pair).
  init(stages: [Stage]) {
    var merged: [Stage] = []
    for stage in stages {
      switch (merged.last, stage) {
      case (.arithmetic(.mul, let a, _), .arithmetic(.add, let b, _)):
        merged[merged.count - 1] = .scaleShift(a, b)
      case (.timesClippedShift(let c, let lo, let hi), .arithmetic(.div, let d, constantFirst: false)):
        merged[merged.count - 1] = .timesClippedShiftOver(c, lo, hi, d)
      default:
        merged.append(stage)
      }
    }
    self.stages = merged
  }

  /// Applies every stage to `count` values of output channel `channel`, in place.
  func apply(_ p: UnsafeMutablePointer<Float>, count: Int, channel: Int) {
    for stage in stages {
      switch stage {
      case .arithmetic(let op, let c, let constantFirst):
        switch (op, constantFirst) {
        case (.add, _): for i in 0..<count { p[i] = p[i] + c }
        case (.mul, _): for i in 0..<count { p[i] = p[i] * c }
        case (.sub, false): for i in 0..<count { p[i] = p[i] - c }
        case (.sub, true): for i in 0..<count { p[i] = c - p[i] }
        case (.div, false): for i in 0..<count { p[i] = p[i] / c }
        case (.div, true): for i in 0..<count { p[i] = c / p[i] }
        }
      case .affine(let k, let shift):
        let kc = k[channel], sc = shift[channel]
        for i in 0..<count { p[i] = p[i] * kc + sc }
      case .clip(let lo, let hi):
        for i in 0..<count { let v = p[i]; p[i] = v.isNaN ? v : min(max(v, lo), hi) }
      case .relu:
        for i in 0..<count { let v = p[i]; p[i] = v < 0 ? 0 : v }
      case .hardSigmoid(let alpha, let beta):
        for i in 0..<count { p[i] = min(1, max(0, alpha * p[i] + beta)) }
      case .timesClippedShift(let c, let lo, let hi):
        for i in 0..<count {
          let v = p[i], s = v + c
          p[i] = v * (s.isNaN ? s : min(max(s, lo), hi))
        }
      case .scaleShift(let a, let b):
        for i in 0..<count { p[i] = p[i] * a + b }
      case .timesClippedShiftOver(let c, let lo, let hi, let d):
        for i in 0..<count {
          let v = p[i], s = v + c
          p[i] = v * (s.isNaN ? s : min(max(s, lo), hi)) / d
        }
      }
    }
  }
}
