import ONNX
import TensorAlgebra

/// A decomposition format: what it can rewrite, how it factors a kernel, what the result costs,
/// and the ONNX chain it emits (factorized layout).
protocol ConvFormat {
  var method: Method { get }
  /// Nil when the format can rewrite `site` at `opset`, else why not.
  func unsupportedReason(_ site: ConvSite, opset: Int) -> SkipReason?
  /// The lossless ranks.
  func fullRanks(_ site: ConvSite) -> [Int]
  /// `rank` applied to every rank of the format, clipped to the full ranks.
  func uniformRanks(_ site: ConvSite, rank: Int) -> [Int]
  /// Error against parameters over the format's ranks (estimated where exact is costly);
  /// nil when the format has no cheap curve (cp).
  func curve(_ site: ConvSite, kernel: Tensor, context: ShuffleContext) throws -> [CurvePoint]?
  /// Factors `kernel` (shaped like `site.weightShape`) at `ranks`.
  func factor(_ kernel: Tensor, site: ConvSite, ranks: [Int], context: ShuffleContext) throws -> Factorization
  /// Stored parameters and multiply-adds per output position of the factorized chain.
  func cost(_ site: ConvSite, ranks: [Int]) -> Cost
  /// Emits the chain replacing the site's node.
  func emit(_ f: Factorization, into emitter: inout ChainEmitter) throws
}

/// The seed and mode of the shuffle for one site.
struct ShuffleContext {
  var mode: ShuffleMode
  /// Derived from the global seed and the weight's name, so a shared weight gets one shuffle.
  var seed: UInt64
  var candidates: Int
}

/// All formats by method (auto is resolved by the planner).
func format(for method: Method) -> ConvFormat {
  switch method {
  case .auto, .svd: SVDFormat()
  case .tucker2: Tucker2Format()
  case .cp: CPFormat()
  case .kron: KronFormat()
  }
}
