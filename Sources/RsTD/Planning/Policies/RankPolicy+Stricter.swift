extension RankPolicy {
  /// The same kind of policy one step closer to the original model, or nil when there is
  /// none: error bounds halved, the ratio halfway to 1, the rank doubled. The output check
  /// backs sites off along these steps before keeping them whole.
  var stricter: RankPolicy? {
    switch self {
    case .full: nil
    case .fixed(let r): r < 1 << 20 ? .fixed(2 * r) : nil
    case .maxError(let e): e / 2 >= 1e-3 ? .maxError(e / 2) : nil
    case .maxErrorByKernel(let s, let p): max(s, p) / 2 >= 1e-3 ? .maxErrorByKernel(spatial: s / 2, pointwise: p / 2) : nil
    case .ratio(let r): r < 0.95 ? .ratio(r + (1 - r) / 2) : nil
    }
  }
}
