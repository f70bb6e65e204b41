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
  /// Whether sequential correction refitted the last factor and bias (`correctSequentially`).
  var corrected = false
  /// Whether that refit chose both factors (svd, reduced-rank regression on the input patches).
  var correctedBoth = false
  /// The site's output error in the rewritten network against the original layer's, measured
  /// by sequential correction after (and before) its refit; nil when not measured.
  var siteOutputError: Double? = nil
  var siteOutputErrorUncorrected: Double? = nil
  /// How the weights are stored (`--weights`) when not plain fp32, for the report; nil = fp32.
  var storage: String? = nil
  /// The error of the float factors alone when `relativeError` includes storage; nil otherwise.
  var lowRankError: Double? = nil
}
