import TensorAlgebra

/// The factors of one site, ready to emit.
struct Factorization {
  var format: Method
  var ranks: [Int]
  var relativeError: Double
  /// The format's own `Factors` value; the format that made it checks the type when emitting.
  var factors: Any
  /// The full-entry shuffle the factors approximate (reconstructed layout); nil = identity.
  var entryShuffle: EntryShuffle? = nil
  /// "none", "random seed N" ... for the report.
  var shuffleDescription: String = "none"
  /// A new bias for the chain's last node, replacing the site's (response PCA); nil keeps it.
  var bias: [Float]? = nil
  /// √(discarded response variance / total) when fitted to responses.
  var responseError: Double? = nil
  /// "weights" or "responses": what the factors were fitted to, for the report.
  var fittedTo = "weights"
}
