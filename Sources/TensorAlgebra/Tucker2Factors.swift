/// A Tucker-2 factorisation `W ≈ core ×₀ output ×₁ input` of a kernel `[M, C, k…]`.
///
/// As convolutions: `Conv(1×1, C→ri)` with weight `inputᵀ`, then `Conv(k…, ri→ro)` with weight
/// `core`, then `Conv(1×1, ro→M)` with weight `output`.
public struct Tucker2Factors: Sendable, Equatable {
  /// `[ro, ri, k…]`.
  public var core: Tensor
  /// `[M, ro]`, orthonormal columns.
  public var output: Tensor
  /// `[C, ri]`; orthonormal columns for weight fits (`tucker2`), not for response fits
  /// (`tucker2ResponseFit`, whose input factor is whitened).
  public var input: Tensor

  /// Creates factors from their parts.
  ///
  /// - Precondition: `core.shape[0] == output.shape[1]` and `core.shape[1] == input.shape[1]`.
  public init(core: Tensor, output: Tensor, input: Tensor) {
    precondition(
      core.shape.count >= 2 && output.shape.count == 2 && input.shape.count == 2
        && core.shape[0] == output.shape[1] && core.shape[1] == input.shape[1],
      "Tucker-2 factors core \(core.shape), output \(output.shape), input \(input.shape) do not chain")
    self.core = core
    self.output = output
    self.input = input
  }

  /// The ranks (ro, ri).
  public var ranks: (output: Int, input: Int) { (core.shape[0], core.shape[1]) }

  /// The approximation `core ×₀ output ×₁ input`, shape `[M, C, k…]`.
  ///
  /// - Complexity: O(M · ro · ri · K + M · C · ri · K), K = product of k….
  public func reconstruct() -> Tensor {
    core.modeProduct(output, mode: 0).modeProduct(input, mode: 1)
  }

  /// Stored parameters: ro·ri·K + M·ro + C·ri.
  public var parameterCount: Int { core.count + output.count + input.count }
}
