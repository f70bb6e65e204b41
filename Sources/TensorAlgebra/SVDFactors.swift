/// A rank-r matrix factorisation `W ≈ left · right` of a kernel unfolded as `[M, rest]`.
///
/// The singular values are folded into `left`. For a conv weight `[M, C, k…]`, `right`
/// reshaped to `[r, C, k…]` is the first conv's weight and `left` reshaped to `[M, r, 1…]` the
/// second's.
public struct SVDFactors: Sendable, Equatable {
  /// `[M, r]`: U_r · diag(σ_r).
  public var left: Tensor
  /// `[r, rest]`: V_rᵀ, orthonormal rows.
  public var right: Tensor

  /// Creates factors from their parts.
  ///
  /// - Precondition: `left` is `[M, r]` and `right` is `[r, n]`.
  public init(left: Tensor, right: Tensor) {
    precondition(
      left.shape.count == 2 && right.shape.count == 2 && left.shape[1] == right.shape[0],
      "SVD factors \(left.shape) and \(right.shape) do not chain")
    self.left = left
    self.right = right
  }

  /// The rank r.
  public var rank: Int { left.shape[1] }

  /// The approximation `left · right`, a 2-D tensor `[M, rest]`.
  ///
  /// - Complexity: O(M · r · rest).
  public func reconstruct() -> Tensor { matmul(left, right) }

  /// Stored parameters: r · (M + rest).
  public var parameterCount: Int { left.count + right.count }
}
