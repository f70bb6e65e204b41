import TensorAlgebra

/// The last factor of a response-fitted chain as sequential correction refits it: a matrix
/// `[M, n]` on the n values the chain's last conv reads at an output position — its input z
/// (svd `Conv(1×1, r→M)`, tucker2 `Conv(1×1, r_o→M)`, cp `Conv(1×1, R→M)`) or z's 1×k2 patches
/// (spatial `Conv(1×k2, r→M)`, n = r·k2 in (r, j) order, `PatchSpec`'s).
struct LastFactor {
  /// `[M, n]` row-major.
  var weight: [Float]
  let outputs: Int
  let unknowns: Int
  /// The last conv's kernel: all ones but spatial's `[1, k2]`.
  let kernel: [Int]

  /// The last factor of `f`, nil for factors sequential correction does not refit (grouped
  /// tucker2 and svd fits, kron, tt, reconstructed).
  init?(_ f: Factorization) {
    switch f.factors {
    case let svd as [SVDFactors] where svd.count == 1:
      (weight, outputs, unknowns) = (svd[0].left.scalars, svd[0].left.shape[0], svd[0].rank)
      kernel = [1, 1]
    case let t as [Tucker2Factors] where t.count == 1:
      (weight, outputs, unknowns) = (t[0].output.scalars, t[0].output.shape[0], t[0].ranks.output)
      kernel = [1, 1]
    case let cp as CPFactors:
      (weight, outputs, unknowns) = (cp.factors[0].scalars, cp.factors[0].shape[0], cp.rank)
      kernel = [1, 1]
    case let s as SpatialFactors:
      let h = s.horizontal.shape  // [M, r, k2]: row o is (r, j)-ordered
      (weight, outputs, unknowns) = (s.horizontal.scalars, h[0], h[1] * h[2])
      kernel = [1, h[2]]
    default:
      return nil
    }
  }

  /// Whether the last conv reads patches of z rather than z itself.
  var readsPatches: Bool { kernel.contains { $0 != 1 } }

  /// `f`'s factors with this last factor in place of theirs (the same shapes).
  func replacing(in f: Factorization) -> Any? {
    switch f.factors {
    case let svd as [SVDFactors] where svd.count == 1:
      return [SVDFactors(left: Tensor(shape: [outputs, unknowns], scalars: weight), right: svd[0].right)]
    case var t as [Tucker2Factors] where t.count == 1:
      t[0].output = Tensor(shape: [outputs, unknowns], scalars: weight)
      return t
    case var cp as CPFactors:
      cp.factors[0] = Tensor(shape: [outputs, unknowns], scalars: weight)
      return cp
    case var s as SpatialFactors:
      s.horizontal = Tensor(shape: s.horizontal.shape, scalars: weight)
      return s
    default:
      return nil
    }
  }

  /// The kernel `factors` (one of `replacing`'s results) compute, flat in the site kernel's order.
  static func reconstruct(_ factors: Any) -> [Float]? {
    switch factors {
    case let svd as [SVDFactors]: svd.first?.reconstruct().scalars
    case let t as [Tucker2Factors]: t.first?.reconstruct().scalars
    case let cp as CPFactors: cp.reconstruct().scalars
    case let s as SpatialFactors: s.reconstruct().scalars
    default: nil
    }
  }
}
