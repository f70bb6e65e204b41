// Parameter counts and error curves per format, for planning ranks without factoring.

extension SVDFactors {
  /// Parameters of rank-r SVD factors of a kernel `shape`: r·(M + rest), rest = Π shape[1...].
  ///
  /// - Complexity: O(shape.count).
  public static func parameterCount(shape: [Int], rank: Int) -> Int {
    rank * (shape[0] + shape.dropFirst().reduce(1, *))
  }
}

extension Tucker2Factors {
  /// Parameters of Tucker-2 factors of a kernel `[M, C, k…]`: ro·ri·K + M·ro + C·ri.
  ///
  /// - Complexity: O(shape.count).
  public static func parameterCount(shape: [Int], ranks: (output: Int, input: Int)) -> Int {
    let k = shape.dropFirst(2).reduce(1, *)
    return ranks.output * ranks.input * k + shape[0] * ranks.output + shape[1] * ranks.input
  }
}

extension CPFactors {
  /// Parameters of rank-R CP factors of a tensor `shape`: R·Σ Iₙ.
  ///
  /// - Complexity: O(shape.count).
  public static func parameterCount(shape: [Int], rank: Int) -> Int { rank * shape.reduce(0, +) }
}

extension KronFactors {
  /// Parameters of R Kronecker terms: R·(C1·A1 + C2·A2·K).
  ///
  /// - Complexity: O(spatial.count).
  public static func parameterCount(
    outputSplit: (Int, Int), inputSplit: (Int, Int), spatial: [Int], rank: Int
  ) -> Int {
    rank * (outputSplit.0 * inputSplit.0 + outputSplit.1 * inputSplit.1 * spatial.reduce(1, *))
  }
}

/// An upper bound on the truncated-HOSVD Tucker-2 error, from the two mode spectra.
///
/// `err² ≤ Σ_{i≥ro} σ⁽⁰⁾ᵢ²/‖W‖² + Σ_{j≥ri} σ⁽¹⁾ⱼ²/‖W‖²` (De Lathauwer, De Moor, Vandewalle
/// 2000, property 10); `tucker2` (sequential truncation, then HOOI) ends at or below it. Both
/// spectra carry ‖W‖² as their squared sum, so no norm is needed.
///
/// - Parameters:
///   - spectra: The output of `modeSpectra(_:)`.
///   - ranks: (ro, ri), each in `0...count` of its spectrum.
/// - Returns: The bound in `[0, √2]` (0 for a zero kernel).
/// - Complexity: O(number of singular values).
public func tucker2ErrorBound(spectra: (output: [Float], input: [Float]), ranks: (output: Int, input: Int)) -> Double {
  let out = truncationErrors(singularValues: spectra.output)
  let inn = truncationErrors(singularValues: spectra.input)
  let a = out[min(max(ranks.output, 0), out.count - 1)]
  let b = inn[min(max(ranks.input, 0), inn.count - 1)]
  return (a * a + b * b).squareRoot()
}
