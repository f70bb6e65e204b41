import Executor
import ONNX

/// How a rewrite checks what it did to the model's outputs: the executor runs the original and
/// the rewritten model on the same inputs and compares every output (`OutputDifference`).
public struct OutputCheck: Sendable {
  /// The relative output error the written model must stay within.
  public enum Bound: Equatable, Sendable {
    /// `defaultBound` under the default rank policy with fp32 weights; measure and report only
    /// under an explicit policy (`--rank`, `--ratio`, `--max-error`) or weight storage
    /// (`--weights fp16|int8`), which say how much to lose.
    case automatic
    /// Measure and report; never back off.
    case none
    /// Back sites off until the measured error is at most this.
    case relative(Double)
  }

  /// The output error weight storage alone may cause (`--storage-error`): the original model
  /// with its Conv/Gemm/MatMul weights stored as `--weights` asks is measured, and the weights
  /// whose storage moves the outputs most are kept float32 until it is within this
  /// (`Rewriter.storageKept`). `.automatic`: `defaultFP16Bound` for fp16, measure only for int8
  /// (whose error the rank policies' bounds include). Default `.automatic`.
  public var storageBound: Bound = .automatic
  /// Run the models at all. When false (or when the model cannot be run) ranks come from
  /// weight error alone. Default true.
  public var enabled = true
  /// Default `.automatic`.
  public var bound: Bound = .automatic
  /// Inputs to run: one dictionary (input name → value) per batch. Nil: `samples` synthetic
  /// inputs (`SyntheticInputs`). Default nil.
  public var inputs: [[String: TensorValue]]?
  /// Makes the inputs from the model once it is loaded (calibration files checked against its
  /// declared inputs); its errors end the rewrite. Takes precedence over `inputs`. Default nil.
  public var inputsFor: (@Sendable (Model) throws -> [[String: TensorValue]])?
  /// What `inputsFor` reads, for the report (e.g. the calibration path).
  public var inputsSource: String?
  /// Makes held-out inputs from the loaded model: never used to fit, probe or bound, only to
  /// measure the written model at the end (`HeldOutMeasurement`), an estimate of its error on
  /// new inputs of the same kind. Nil: no held-out measurement. Default nil.
  public var heldOutFor: (@Sendable (Model) throws -> [[String: TensorValue]])?
  /// Number of synthetic inputs when `inputs` is nil. Default 4.
  public var samples = 4
  /// Inputs each single-site probe runs (the first ones); the allocation's models run all.
  /// Nil (the default): `OutputBench.probeInputs`, enough inputs for `probeOutputValues` output
  /// values, 2 to 32.
  public var probeSamples: Int?
  /// Shapes of synthetic inputs by input name, overriding the declared shape. Default empty.
  public var inputShapes: [String: [Int]] = [:]
  /// Worker threads of the executor (results are the same bits for any count). Default: all cores.
  public var threads = ExecutorOptions.coreCount
  /// Whether a probe that changes one stretch of the model builds and runs that stretch alone
  /// and resumes the original after it (`OutputBench.difference(ofStretch:_:inputs:)`), rather
  /// than the whole candidate from its cut: the same bits either way (tests compare them).
  var probesStretches = true
  /// Whether the storage allocation measures its candidates as the original's plan run with the
  /// stored weights' values in place (`StoredWeightRuns`), rather than building and compiling
  /// each: the same bits either way (tests compare them); only `modelRuns` differs, by the check.
  var replacesStoredWeights = true

  /// The bound of the default policy: relative L2 error 0.05 on every output.
  public static let defaultBound = 0.05

  /// The storage bound of fp16 by default: below it fp16 storage is lossless for practical
  /// purposes; rounding every weight of a deep network to fp16 moves its outputs by 2e-3 to
  /// 1e-2 (PP-OCR det, cls, rec; docs/benchmarks.md, "Weight storage").
  public static let defaultFP16Bound = 1e-3

  public init() {}

  /// The storage bound in force for `weights`, or nil when storage is only measured.
  func effectiveStorageBound(weights: WeightStorage) -> Double? {
    guard weights != .fp32 else { return nil }
    switch storageBound {
    case .automatic: return weights == .fp16 ? OutputCheck.defaultFP16Bound : nil
    case .none: return nil
    case .relative(let e): return e
    }
  }

  /// The bound in force under `policy`, or nil when the check only measures.
  func effectiveBound(under policy: RankPolicy, weights: WeightStorage) -> Double? {
    switch bound {
    case .automatic: policy == .conservative && weights == .fp32 ? OutputCheck.defaultBound : nil
    case .none: nil
    case .relative(let e): e
    }
  }
}
