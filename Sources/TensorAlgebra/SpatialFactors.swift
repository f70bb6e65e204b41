/// A rank-r spatially separable factorisation of a 2-D conv kernel (Jaderberg, Vedaldi,
/// Zisserman 2014, scheme 2): `W[o, c, i, j] ≈ Σ_r H[o, r, j] · V[r, c, i]`, a vertical
/// `kh × 1` conv `C → r` followed by a horizontal `1 × kw` conv `r → M`.
///
/// It is the rank-r truncation of the kernel unfolded as `[(c, i), (o, j)]`: the rank counts
/// filters that are separable in space, not output channels.
public struct SpatialFactors: Sendable, Equatable {
  /// `[r, C, kh]`: the first conv's weight (as `[r, C, kh, 1]`); singular values folded in.
  public var vertical: Tensor
  /// `[M, r, kw]`: the second conv's weight (as `[M, r, 1, kw]`).
  public var horizontal: Tensor

  /// - Precondition: `vertical` is `[r, C, kh]` and `horizontal` is `[M, r, kw]`.
  public init(vertical: Tensor, horizontal: Tensor) {
    precondition(
      vertical.shape.count == 3 && horizontal.shape.count == 3 && vertical.shape[0] == horizontal.shape[1],
      "spatial factors \(vertical.shape) and \(horizontal.shape) do not chain")
    self.vertical = vertical
    self.horizontal = horizontal
  }

  public var rank: Int { vertical.shape[0] }

  /// The kernel `[M, C, kh, kw]` the chain computes.
  /// - Complexity: O(M · C · kh · kw · r).
  public func reconstruct() -> Tensor {
    let (r, c, kh) = (vertical.shape[0], vertical.shape[1], vertical.shape[2])
    let (m, kw) = (horizontal.shape[0], horizontal.shape[2])
    // [(c,i), r] · [r, (o,j)] is the unfolding; permute it back to [o, c, i, j].
    let left = vertical.reshaped([r, c * kh])
    let right = horizontal.transposed([1, 0, 2]).reshaped([r, m * kw])
    return matmul(left, right, transposeA: true).reshaped([c, kh, m, kw]).transposed([2, 0, 1, 3])
  }

  /// Stored parameters: r · (C · kh + M · kw).
  public var parameterCount: Int { vertical.count + horizontal.count }

  /// r · (C · kh + M · kw) for a kernel `[M, C, kh, kw]`.
  public static func parameterCount(shape: [Int], rank: Int) -> Int {
    precondition(shape.count == 4)
    return rank * (shape[1] * shape[2] + shape[0] * shape[3])
  }
}

extension SpatialFactors {
  /// The first `rank` separable filters (an SVD fit's factors are nested: its rank-r truncation).
  /// - Precondition: 1 ≤ rank ≤ `self.rank`.
  public func truncated(to rank: Int) -> SpatialFactors {
    precondition(rank >= 1 && rank <= self.rank)
    let (r, c, kh) = (vertical.shape[0], vertical.shape[1], vertical.shape[2])
    let (m, kw) = (horizontal.shape[0], horizontal.shape[2])
    let v = Tensor(shape: [rank, c, kh], scalars: Array(vertical.scalars[0..<(rank * c * kh)]))
    var h = [Float](repeating: 0, count: m * rank * kw)
    for o in 0..<m {
      for q in 0..<(rank * kw) { h[(o * rank) * kw + q] = horizontal.scalars[(o * r) * kw + q] }
    }
    return SpatialFactors(vertical: v, horizontal: Tensor(shape: [m, rank, kw], scalars: h))
  }
}
