import TensorAlgebra

/// The factors of one site, ready to emit.
struct Factorization {
  enum Payload {
    /// Per group.
    case svd([SVDFactors])
    /// Per group.
    case tucker2([Tucker2Factors])
    case cp(CPFactors)
    case kron(KronFactors, KronLayout)
  }

  var format: Method
  var ranks: [Int]
  var relativeError: Double
  var payload: Payload
  /// The full-entry shuffle the factors approximate (reconstructed layout); nil = identity.
  var entryShuffle: EntryShuffle? = nil
  /// "none", "random seed N" ... for the report.
  var shuffleDescription: String = "none"
}
