/// A CP (CANDECOMP/PARAFAC) tensor `Σ_r factors[0][:, r] ∘ factors[1][:, r] ∘ …`.
///
/// The weights λ are folded into `factors[0]`. For a conv weight `[M, C, k1, k2]` the chain is
/// `Conv(1×1, C→R)` (factors[1]ᵀ), `Conv(k1×1, group R)` (factors[2]), `Conv(1×k2, group R)`
/// (factors[3]), `Conv(1×1, R→M)` (factors[0]).
public struct CPFactors: Sendable, Equatable {
  /// `factors[n]` is `[shape[n], R]`.
  public var factors: [Tensor]

  /// Creates CP factors.
  ///
  /// - Precondition: at least one factor; every factor is 2-D with the same column count R ≥ 1.
  public init(factors: [Tensor]) {
    precondition(!factors.isEmpty, "CP needs at least one factor")
    let r = factors[0].shape.count == 2 ? factors[0].shape[1] : -1
    precondition(
      factors.allSatisfy { $0.shape.count == 2 && $0.shape[1] == r },
      "CP factors \(factors.map(\.shape)) must all be [I_n, R]")
    self.factors = factors
  }

  /// The rank R (number of columns of each factor).
  public var rank: Int { factors[0].shape[1] }

  /// The shape of the represented tensor, `factors.map { $0.shape[0] }`.
  public var shape: [Int] { factors.map { $0.shape[0] } }

  /// Stored parameters: R · Σ I_n.
  public var parameterCount: Int { factors.reduce(0) { $0 + $1.count } }

  /// The full tensor of shape `shape`.
  ///
  /// Builds the Khatri–Rao product of factors 1…N−1 (`[I₁⋯I_{N−1}, R]`) and one GEMM with
  /// factors[0].
  ///
  /// - Complexity: O(R · Π I_n).
  public func reconstruct() -> Tensor {
    let r = rank
    var kr = [Float](repeating: 1, count: r)  // [1, R]
    var rows = 1
    for f in factors.dropFirst() {
      let i = f.shape[0]
      var next = [Float](repeating: 0, count: rows * i * r)
      for a in 0..<rows {
        for b in 0..<i {
          let o = (a * i + b) * r
          for c in 0..<r { next[o + c] = kr[a * r + c] * f.scalars[b * r + c] }
        }
      }
      kr = next
      rows *= i
    }
    let full = matmul(factors[0], Tensor(shape: [rows, r], scalars: kr), transposeB: true)
    return full.reshaped(shape)
  }
}
