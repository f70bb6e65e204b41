import Foundation
import ONNX

/// Why a node is left as it is. The description goes into the report unchanged.
public enum SkipReason: Equatable, Sendable, CustomStringConvertible {
  case weightNotConstant(String)
  case depthwise
  case unsupportedOp(String)
  case unsupportedWeightType(String)
  case weightRank(Int)
  case excluded(String)
  case notSelected
  case formatUnsupported(format: String, why: String)
  case opsetTooOld(op: String, needed: Int, have: Int)
  case notProfitable(paramsBefore: Int, paramsAfter: Int, macsBefore: Int, macsAfter: Int)
  /// The chain would run slower than the node in onnxruntime, as the runtime cost model
  /// predicts it (µs): the latency guard.
  case slowerThanDense(before: Double, after: Double)
  case rankOne
  case noCompressionUnderBound(Double)
  case decompositionFailed(String)
  case linearNotRequested
  case excludedByBudget(Double)
  case stem(Int)
  /// The node contradicts the ONNX spec (the rewriter refuses the model; inspect reports it).
  case malformed(String)
  /// The weight holds NaN or infinite values, which no decomposition can approximate.
  case nonFiniteWeight
  /// A factor does not fit the weight's storage type (e.g. |value| > 65504 in FLOAT16).
  case notRepresentable(String)
  /// Backed off by the output check: rewriting it alone moved the outputs by `alone`.
  case outputBound(alone: Double, bound: Double)
  /// Backed off by the output check, probed with the `group` sites around it (too many sites
  /// to probe each alone): rewritten together they moved the outputs by `groupError`, of which
  /// its share is estimated (`share`) from its weight error.
  case outputBoundInGroup(share: Double, group: Int, groupError: Double, bound: Double)
  /// Kept whole by the calibrated allocation: its measured sensitivity (`alone` at `rank`) made
  /// every rank dearer than error spent elsewhere.
  case calibratedAllocation(alone: Double, rank: Int)
  /// As `calibratedAllocation`, probed in a group (too many sites to probe each alone): `share`
  /// is its estimated share of the group's measured error.
  case calibratedAllocationInGroup(share: Double, rank: Int)

  public var description: String {
    switch self {
    case .weightNotConstant(let w): "weight '\(w)' is computed at run time (not a constant)"
    case .depthwise: "depthwise convolution (one input channel per group): nothing to factor"
    case .unsupportedOp(let op): "\(op) is not rewritten"
    case .unsupportedWeightType(let t): "weight type \(t) is not a floating-point type"
    case .weightRank(let r): "weight has \(r) dimensions; expected 3 to 5 for Conv, 2 for Gemm/MatMul"
    case .excluded(let g): "excluded by --exclude '\(g)'"
    case .notSelected: "not matched by --include"
    case .formatUnsupported(let f, let why): "\(f) cannot rewrite it: \(why)"
    case .opsetTooOld(let op, let needed, let have):
      "\(op) needs opset \(needed); the model imports opset \(have)"
    case .notProfitable(let pb, let pa, let mb, let ma):
      "not profitable: parameters \(pb) → \(pa), multiply-adds \(mb) → \(ma)"
    case .slowerThanDense(let before, let after):
      "not faster: predicted onnxruntime latency \(SkipReason.micros(before)) → \(SkipReason.micros(after)) (docs/latency.md); --force rewrites it anyway"
    case .rankOne: "a single output or input channel: nothing to factor"
    case .noCompressionUnderBound(let e): "no profitable rank (fewer parameters and multiply-adds, predicted faster) keeps relative error ≤ \(e)"
    case .decompositionFailed(let why): "decomposition failed: \(why)"
    case .linearNotRequested: "Gemm/MatMul are rewritten only with --include-linear"
    case .stem(let c): "input stem (\(c) input channels): kept by the default policy; choose --max-error, --ratio or --rank to compress it"
    case .malformed(let why): "malformed: \(why)"
    case .nonFiniteWeight: "the weight holds NaN or infinite values"
    case .notRepresentable(let why): "the factors cannot be stored: \(why)"
    case .outputBound(let alone, let bound):
      "kept by the output check: rewritten alone it moves the outputs by \(OutputMeasurement.format(alone)) (relative, measured); the model must stay within \(bound)"
    case .outputBoundInGroup(let share, let group, let groupError, let bound):
      "kept by the output check: probed in a group of \(group) sites (too many sites to probe each alone), which rewritten together move the outputs by \(OutputMeasurement.format(groupError)) (relative, measured); its share, estimated from its weight error, is \(OutputMeasurement.format(share)); the model must stay within \(bound)"
    case .calibratedAllocation(let alone, let rank):
      "kept whole by the calibrated allocation: rewritten alone at rank \(rank) it moves the outputs by \(OutputMeasurement.format(alone)) (relative, measured); the budget buys less error elsewhere"
    case .calibratedAllocationInGroup(let share, let rank):
      "kept whole by the calibrated allocation: probed in a group at rank \(rank), its estimated share of the group's measured output error is \(OutputMeasurement.format(share)); the budget buys less error elsewhere"
    case .excludedByBudget(let r): "kept whole: under --ratio \(r) the water-filling gave this layer all its parameters"
    }
  }
}

extension SkipReason {
  static func micros(_ t: Double) -> String { t >= 100 ? "\(Int(t.rounded())) µs" : String(format: "%.1f µs", t) }
}

/// The outcome of looking at one node.
public enum SiteDecision: Sendable {
  case rewrite(ConvSite)
  case keep(Node, SkipReason)
}
