/// The decomposition a site is rewritten with.
public enum Method: String, CaseIterable, Sendable, Codable {
  /// Per site, the format with the lowest error at that site's budget (svd or tucker2; cp and
  /// kron only when asked for, since CP-ALS costs 30–80 SVDs).
  case auto
  case svd
  case tucker2
  case cp
  case kron
  /// Spatially separable filters (k1×1 then 1×k2) for ungrouped 2-D k×k convs; other sites svd.
  case spatial
  /// `auto`, except that the calibrated allocation chooses each site's format among svd, spatial
  /// and tucker2 on their response curves (docs/calibration.md, "Several formats per site").
  case mixed
}

/// How the factors appear in the written model.
public enum Layout: String, CaseIterable, Sendable, Codable {
  /// A chain of smaller convolutions (and Gathers): smaller and faster.
  case factorized
  /// The original Conv fed by an in-graph rebuild of its kernel: smaller file, same speed.
  case reconstructed
}

/// The shuffle applied before decomposing.
public enum ShuffleMode: String, CaseIterable, Sendable, Codable {
  /// Conventional TD: the identity.
  case none
  /// One seeded shuffle per site.
  case random
  /// The identity and several seeded candidates; the lowest error wins.
  case search
}

/// What the ranks of response-fitted sites are allocated by.
public enum AllocationBasis: String, CaseIterable, Sendable, Codable {
  /// The rank policy's weight-error curves (then the output check's back-off under a bound).
  case weights
  /// Response curves and a measured end-to-end sensitivity per site (docs/calibration.md).
  case responses
}

/// How ranks are chosen.
public enum RankPolicy: Equatable, Sendable {
  /// The lossless rank of each format (for verification; usually not smaller).
  case full
  /// The same rank at every site, clipped to the site's full rank.
  case fixed(Int)
  /// Smallest ranks with relative weight error ≤ the bound at each site.
  case maxError(Double)
  /// Eligible sites' total parameters ≤ ratio × original, by greatest error reduction per
  /// parameter across sites (water-filling over their error curves).
  case ratio(Double)

  /// Smallest ranks with relative weight error ≤ `spatial` on convs with a k×k… kernel and ≤
  /// `pointwise` on 1×1 convs and linear layers.
  case maxErrorByKernel(spatial: Double, pointwise: Double)

  /// The default: `maxErrorByKernel(spatial: 0.3, pointwise: 0.1)`. Measured (docs/cli.md):
  /// 1×1 convs of PP-OCR's recognizer collapse it at 0.2 while 3×3 kernels tolerate 0.3 on the
  /// digits CNN; input stems (≤ 4 input channels) are kept; layers that cannot shrink under their
  /// bound are kept and reported.
  public static let conservative = RankPolicy.maxErrorByKernel(spatial: 0.3, pointwise: 0.1)
}

/// Everything a rewrite needs to know. Defaults are stated on each property.
public struct RewriteOptions: Sendable {
  /// Default `.auto`.
  public var method: Method = .auto
  /// Default `.factorized`.
  public var layout: Layout = .factorized
  /// Default `.none` (conventional TD).
  public var shuffle: ShuffleMode = .none
  /// Seed of every shuffle; default 1810 (after the paper's arXiv number).
  public var seed: UInt64 = 1810
  /// Default `.conservative`.
  public var ranks: RankPolicy = .conservative
  /// Site name globs to consider; empty means all. Default empty.
  public var include: [String] = []
  /// Site name globs to leave alone. Default empty.
  public var exclude: [String] = []
  /// Also rewrite Gemm and MatMul with a constant 2-D weight. Default false.
  public var includeLinear = false
  /// Rewrite even when the chain is not cheaper (verification plans). Default false.
  public var force = false
  /// Set on the output check's back-off levels: there a site whose factors would store as many
  /// parameters as its layer, or more, is kept, even under `force`, since keeping the layer
  /// whole (no error, fewer parameters) dominates it in the allocation. Such factors were never
  /// chosen, but all of them were fitted and held at once (big layers near full rank).
  var backOffLevel = false
  /// Whether a site may store its layer's parameter count or more: `force`, not on a back-off level.
  var admitsLargerFactors: Bool { force && !backOffLevel }
  /// Number of candidates besides the identity for `.search`. Default 4.
  public var searchCandidates = 4
  /// How the written model's outputs are measured against the original's. Default: measured
  /// on synthetic inputs, held to `OutputCheck.defaultBound` under the default rank policy.
  public var check = OutputCheck()
  /// What factors are fitted to. Default `.weights`; `.responses` needs the output check (its
  /// runs of the original model collect the statistics).
  public var fit: FitTarget = .weights
  /// What ranks are allocated by under `--fit responses` with `--ratio` or an output bound.
  /// Default `.responses` (`Rewriter.rewriteCalibrated`).
  public var allocation: AllocationBasis = .responses
  /// Stages of sequential correction of response-fitted svd, tucker2, cp and spatial sites (`correctSequentially`); 0
  /// turns it off. Default 8 (docs/calibration.md, "Sequential correction").
  public var correctionStages = 8
  /// Check inputs the sequential correction fits on and decides its stages by (evenly spread,
  /// `OutputBench.subset`); with fewer than the check inputs, the corrected model is kept
  /// only if its error on all of them does not grow. Default 16 (docs/calibration.md, "Time with
  /// 32 samples").
  public var correctionSamples = 16
  /// Whether each correction stage also tries both factors of its svd sites by reduced-rank
  /// regression on their input patches, kept where it measures better. Default true.
  public var correctionBothFactors = false
  /// How the weights of Conv/Gemm/MatMul sites (factors and kept kernels) are stored. Default
  /// `.fp32` (no change).
  public var weights: WeightStorage = .fp32
  /// Weights stored as float32 whatever `weights` says, each with the output error its storage
  /// alone caused on the check inputs: what the storage allocation (`OutputCheck.storageBound`)
  /// keeps to hold that bound. Default empty.
  public var storageKept: [String: Double] = [:]
  /// The `storageKept` errors are shares of a probe group's measured error (more weights than
  /// the allocation probes alone), not each weight's own. Default false.
  public var storageKeptEstimated = false
  /// What the rank policies minimise. Default `.params`.
  public var objective: Objective = .params
  /// The runtime's channel block: ranks chosen from error curves are multiples of it where a
  /// profitable one exists, and the latency model rounds channel counts up to it. 1 turns
  /// alignment off. Default 16 (onnxruntime's NCHWc block on AVX-512; 8 on AVX2).
  public var channelAlign = 16
  /// Keep a site whose chain the runtime cost model predicts slower than its node. Default
  /// true; off for runtimes other than onnxruntime on CPU, and in tests of the chains
  /// themselves on models too small for any chain to be faster.
  public var latencyGuard = true

  public init() {}
}

/// The cost a rank policy minimises: the chain's stored parameters (bytes under `--weights`),
/// its multiply-adds per output position, or its onnxruntime latency as predicted by the runtime
/// cost model (Planning/Latency/). Whatever the objective, a chain predicted slower than its
/// dense node is never emitted (unless `force`).
public enum Objective: String, CaseIterable, Sendable, Codable {
  case params
  case macs
  case latency

  /// What the objective counts, for messages.
  public var costName: String {
    switch self {
    case .params: "parameters"
    case .macs: "multiply-adds"
    case .latency: "predicted latency"
    }
  }
}
