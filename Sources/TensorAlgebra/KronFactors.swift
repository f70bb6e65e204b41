/// A sum of R Kronecker products approximating a channel-permuted kernel (shuffled Kronecker).
///
/// With M = C1·C2 output and C = A1·A2 input channels, o' = c1·C2 + c2 and i' = a1·A2 + a2:
/// `W'[o', i', k…] ≈ Σ_r a[r, c1, a1] · b[r, c2, a2, k…]`, where W' is the kernel with its
/// channels permuted (see `kron(_:outputSplit:inputSplit:rank:outputPermutation:inputPermutation:)`).
public struct KronFactors: Sendable, Equatable {
  /// `[R, C1, A1]`: σ_r u_r.
  public var a: Tensor
  /// `[R, C2, A2, k…]`: v_r, orthonormal over r.
  public var b: Tensor

  /// Creates factors from their parts.
  ///
  /// - Precondition: `a` is `[R, C1, A1]`, `b` is `[R, C2, A2, …]` with the same R.
  public init(a: Tensor, b: Tensor) {
    precondition(
      a.shape.count == 3 && b.shape.count >= 3 && a.shape[0] == b.shape[0],
      "Kronecker factors \(a.shape) and \(b.shape) do not match")
    self.a = a
    self.b = b
  }

  /// The number of Kronecker terms R.
  public var rank: Int { a.shape[0] }

  /// The permuted kernel W' ≈ Σ_r a_r ⊗ b_r, shape `[C1·C2, A1·A2, k…]` (permuted channel order).
  ///
  /// - Complexity: O(R · M · C · K).
  public func reconstruct() -> Tensor {
    let r = rank
    let (c1, a1) = (a.shape[1], a.shape[2])
    let (c2, a2) = (b.shape[1], b.shape[2])
    let spatial = Array(b.shape.dropFirst(3))
    let k = spatial.reduce(1, *)
    let rearranged = matmul(a.reshaped([r, c1 * a1]), b.reshaped([r, c2 * a2 * k]), transposeA: true)
    // [C1, A1, C2, A2, K] → [C1, C2, A1, A2, K]
    return rearranged.reshaped([c1, a1, c2, a2, k]).transposed([0, 2, 1, 3, 4])
      .reshaped([c1 * c2, a1 * a2] + spatial)
  }

  /// Stored parameters: R · (C1·A1 + C2·A2·K).
  public var parameterCount: Int { a.count + b.count }
}
