import ONNX
import TensorAlgebra

/// A decomposition format: what it can rewrite, how it factors a kernel, what the result costs,
/// and the ONNX chain it emits (factorized layout).
///
/// Adding a format: one file conforming to this protocol, a `Method` case, and a line in
/// `FormatRegistry` (docs/methods.md, "Adding a format").
protocol ConvFormat {
  /// What `factor` produces and `emit` consumes.
  associatedtype Factors
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
  /// The nodes the emitted chain runs, for the runtime cost model (Planning/Latency/).
  func chain(_ site: ConvSite, ranks: [Int], at g: SiteGeometry) -> [CostNode]
  /// Emits the chain replacing the site's node from `factors` (`f.factors`, typed).
  func emit(_ factors: Factors, of f: Factorization, into emitter: inout ChainEmitter) throws
  /// The kernel the emitted chain computes from `stored` (per weight suffix, the floats written
  /// or rebuilt), beside the kernel it approximates, both in the same (possibly permuted) order:
  /// their distance is the error of the stored chain (Storage/Formats+StoredKernel.swift).
  func storedKernel(_ stored: [String: [Float]], of f: Factorization, site: ConvSite, kernel: Tensor) -> (stored: Tensor, reference: Tensor)
}

extension ConvFormat {
  /// Emits `f`, whose factors must be this format's `Factors`.
  /// - Throws: `RewriteError.factorsMismatch` when they are not (a planner bug: never an empty chain).
  func emit(_ f: Factorization, into emitter: inout ChainEmitter) throws {
    guard let factors = f.factors as? Factors else {
      throw RewriteError.factorsMismatch(format: "\(Self.self)", factors: "\(type(of: f.factors))")
    }
    try emit(factors, of: f, into: &emitter)
  }
}

/// The seed and mode of the shuffle for one site.
struct ShuffleContext {
  var mode: ShuffleMode
  /// Derived from the global seed and the weight's name, so a shared weight gets one shuffle.
  var seed: UInt64
  var candidates: Int
}

/// The format of a method in the factorized layout (`auto` reads as svd; the planner resolves it).
func format(for method: Method) -> any ConvFormat { FormatRegistry.format(for: method) }
