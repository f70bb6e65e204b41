/// A tensor train `X[i₀, …, i_{N−1}] = G₀[:, i₀, :] · G₁[:, i₁, :] ⋯ G_{N−1}[:, i_{N−1}, :]`.
public struct TTFactors: Sendable, Equatable {
  /// `cores[n]` is `[r_{n−1}, Iₙ, rₙ]` with r₋₁ = r_{N−1} = 1.
  public var cores: [Tensor]

  /// Creates a tensor train.
  ///
  /// - Precondition: every core is 3-D, neighbouring ranks match, the outer ranks are 1.
  public init(cores: [Tensor]) {
    precondition(!cores.isEmpty && cores.allSatisfy { $0.shape.count == 3 }, "TT cores must be 3-D")
    precondition(cores.first!.shape[0] == 1 && cores.last!.shape[2] == 1, "TT outer ranks must be 1")
    for n in 1..<cores.count {
      precondition(cores[n - 1].shape[2] == cores[n].shape[0], "TT cores \(n - 1) and \(n) do not chain")
    }
    self.cores = cores
  }

  /// The internal ranks r₀ … r_{N−2}.
  public var ranks: [Int] { cores.dropLast().map { $0.shape[2] } }

  /// The represented shape.
  public var shape: [Int] { cores.map { $0.shape[1] } }

  /// Stored parameters: Σ r_{n−1}·Iₙ·rₙ.
  public var parameterCount: Int { cores.reduce(0) { $0 + $1.count } }

  /// The full tensor, by chained GEMMs left to right.
  ///
  /// - Complexity: O(Σₙ (Π_{m≤n} I_m) · r_{n−1} · rₙ).
  public func reconstruct() -> Tensor {
    var left = cores[0].reshaped([cores[0].shape[1], cores[0].shape[2]])
    for core in cores.dropFirst() {
      let (r0, i, r1) = (core.shape[0], core.shape[1], core.shape[2])
      left = matmul(left, core.reshaped([r0, i * r1])).reshaped([left.shape[0] * i, r1])
    }
    return left.reshaped(shape)
  }
}
