// reconstructed layout — the paper's full random shuffle (Li et al. 2018, arXiv 1810.13098).
//
// The kernel's N = M·C/g·k… entries are permuted by an `EntryShuffle` P (seeded affine maps
// i ↦ (a·i + b) mod N and mixed-radix transposes), the shuffled tensor S is decomposed by svd or
// tucker2 (as one tensor, whatever the group), and the file stores only the factors and O(1)
// integers. The graph rebuilds Ŝ, un-shuffles it with a Gather whose indices it computes itself,
// and feeds the original Conv:
//   svd:     Ŝ = MatMul(L[M, r], R[r, C/g·k…])
//   tucker2: Ŝ = Transpose(MatMul(Transpose(Reshape(MatMul(U, G[r_o, r_i·k…]), [M, r_i, K]), [0,2,1]), Vᵀ), [0,2,1])
//   g = Range(0, N, 1) → per step: Mod(Add(Mul(g, a), b), N) | Reshape(dims) → Transpose(perm) → Reshape([N])
//   Ŵ = Reshape(Gather(Reshape(Ŝ, [N]), g), W's shape) → Conv(x, Ŵ, B, original attributes)
// Runtimes fold the subgraph at load, so inference cost is unchanged; storage shrinks.
import ONNX
import TensorAlgebra

struct ReconstructedFormat: ConvFormat {
  /// The inner format's factors (`[SVDFactors]` or `[Tucker2Factors]`), checked when emitting.
  typealias Factors = Any

  let inner: Method
  /// The shuffle mode decides the opset needed: the identity rebuilds with MatMul/Reshape
  /// (opset 5), a shuffle also computes its indices with Range (opset 11).
  var shuffle: ShuffleMode = .none
  var method: Method { inner }

  private var innerFormat: any ConvFormat { format(for: inner) }

  /// The site seen as one ungrouped tensor.
  private func whole(_ site: ConvSite) -> ConvSite {
    ConvSite(
      kind: site.kind, id: site.id, node: site.node, name: site.name, weightName: site.weightName,
      biasName: site.biasName, weightShape: site.weightShape, orientation: site.orientation, group: 1,
      elementType: site.elementType, weightSource: site.weightSource)
  }

  func unsupportedReason(_ site: ConvSite, opset: Int) -> SkipReason? {
    guard inner == .svd || inner == .tucker2 else {
      return .formatUnsupported(format: "\(inner.rawValue) (reconstructed)", why: "the reconstructed layout rebuilds svd or tucker2 factors")
    }
    if site.kind != .conv { return .formatUnsupported(format: "reconstructed", why: "only Conv weights are rebuilt in-graph") }
    if shuffle != .none && opset < 11 { return .opsetTooOld(op: "Range (in-graph shuffle indices)", needed: 11, have: opset) }
    if opset < 5 { return .opsetTooOld(op: "Reshape with a shape input", needed: 5, have: opset) }
    return nil
  }

  func fullRanks(_ site: ConvSite) -> [Int] { innerFormat.fullRanks(whole(site)) }
  func uniformRanks(_ site: ConvSite, rank: Int) -> [Int] { innerFormat.uniformRanks(whole(site), rank: rank) }

  /// Parameters of the factors plus the shuffle's integers; multiply-adds unchanged.
  func cost(_ site: ConvSite, ranks: [Int]) -> Cost {
    Cost(params: innerFormat.cost(whole(site), ranks: ranks).params, multiplyAdds: site.multiplyAdds)
  }

  /// Runtimes fold the rebuild at load: the original Conv runs.
  func chain(_ site: ConvSite, ranks: [Int], at g: SiteGeometry) -> [CostNode] { site.denseChain(at: g) }

  /// Candidate shuffles: nil is the identity.
  func shuffles(_ site: ConvSite, _ context: ShuffleContext) -> [EntryShuffle?] {
    switch context.mode {
    case .none: return [nil]
    case .random: return [EntryShuffle(shape: site.weightShape, seed: context.seed)]
    case .search: return [nil] + (0..<UInt64(context.candidates)).map { EntryShuffle(shape: site.weightShape, seed: context.seed &+ $0) }
    }
  }

  func curve(_ site: ConvSite, kernel: Tensor, context: ShuffleContext) throws -> [CurvePoint]? {
    let s = shuffles(site, context)[0]
    let shuffled = s.map { $0.shuffle(kernel) } ?? kernel
    return try innerFormat.curve(whole(site), kernel: shuffled, context: context)
  }

  func factor(_ kernel: Tensor, site: ConvSite, ranks: [Int], context: ShuffleContext) throws -> Factorization {
    var best: Factorization? = nil
    for s in shuffles(site, context) {
      var f = try innerFormat.factor(s.map { $0.shuffle(kernel) } ?? kernel, site: whole(site), ranks: ranks, context: context)
      if best == nil || f.relativeError < best!.relativeError {
        f.entryShuffle = s
        f.shuffleDescription = s.map { "entries, seed \(seedLabel($0, context))" } ?? "none"
        best = f
      }
    }
    return best!
  }

  private func seedLabel(_ s: EntryShuffle, _ context: ShuffleContext) -> String {
    for j in 0..<UInt64(max(1, context.candidates)) where EntryShuffle(shape: s.shape, seed: context.seed &+ j) == s {
      return String(context.seed &+ j)
    }
    return String(context.seed)
  }

  /// The inner format's factors: `[SVDFactors]` or `[Tucker2Factors]` (one group).
  func emit(_ factors: Any, of f: Factorization, into e: inout ChainEmitter) throws {
    let site = e.site
    let m = site.outputChannels
    let n = site.parameterCount
    let rest = n / m
    var s: String
    switch factors {
    case let parts as [SVDFactors]:
      let p = parts[0]
      let l = e.initializer("rebuild_left", p.left.scalars, shape: [m, f.ranks[0]])
      let r = e.initializer("rebuild_right", p.right.scalars, shape: [f.ranks[0], rest])
      s = e.node("MatMul", inputs: [l, r], suffix: "rebuild_matmul")
    case let parts as [Tucker2Factors]:
      let t = parts[0]
      let (ro, ri) = (f.ranks[0], f.ranks[1])
      let k = site.kernelArea
      let c = site.inputChannelsPerGroup
      let u = e.initializer("rebuild_out", t.output.scalars, shape: [m, ro])
      let g = e.initializer("rebuild_core", t.core.scalars, shape: [ro, ri * k])
      let vt = e.initializer("rebuild_in_t", t.input.transposed([1, 0]).scalars, shape: [ri, c])
      let x1 = e.node("MatMul", inputs: [u, g], suffix: "rebuild_matmul1")
      let shape3 = e.int64s("rebuild_shape_mrk", [m, ri, k], shape: [3])
      let x2 = e.node("Reshape", inputs: [x1, shape3], suffix: "rebuild_reshape")
      let x3 = e.node("Transpose", inputs: [x2], attributes: [Attribute("perm", .ints([0, 2, 1]))], suffix: "rebuild_transpose1")
      let x4 = e.node("MatMul", inputs: [x3, vt], suffix: "rebuild_matmul2")
      s = e.node("Transpose", inputs: [x4], attributes: [Attribute("perm", .ints([0, 2, 1]))], suffix: "rebuild_transpose2")
    default:
      throw RewriteError.factorsMismatch(format: "reconstructed \(inner.rawValue)", factors: "\(type(of: factors))")
    }
    if let shuffle = f.entryShuffle {
      let flatShape = e.int64s("rebuild_flat", [n], shape: [1])
      let flat = e.node("Reshape", inputs: [s, flatShape], suffix: "rebuild_flatten")
      let indices = emitIndices(shuffle, into: &e, flatShape: flatShape)
      s = e.node("Gather", inputs: [flat, indices], attributes: [Attribute("axis", .int(0))], suffix: "rebuild_unshuffle")
    }
    let wShape = e.int64s("rebuild_kernel_shape", site.weightShape, shape: [site.weightShape.count])
    let w = e.node("Reshape", inputs: [s, wShape], suffix: "rebuild_kernel")
    var inputs = site.node.inputs
    inputs[1] = w
    e.node("Conv", inputs: inputs, attributes: site.node.attributes.filter { $0.value != .other }, suffix: "conv", output: site.node.outputs[0])
  }

  /// The in-graph form of `EntryShuffle.gatherIndices()`: O(1) integers, no index tensor.
  private func emitIndices(_ shuffle: EntryShuffle, into e: inout ChainEmitter, flatShape: String) -> String {
    let n = shuffle.shape.reduce(1, *)
    let zero = e.int64s("shuffle_zero", [0], shape: [])
    let one = e.int64s("shuffle_one", [1], shape: [])
    let count = e.int64s("shuffle_n", [n], shape: [])
    var g = e.node("Range", inputs: [zero, count, one], suffix: "shuffle_range")
    for (i, step) in shuffle.steps.enumerated() {
      switch step {
      case .affine(let a, let b):
        let ca = e.int64s("shuffle_a\(i)", [a], shape: [])
        let cb = e.int64s("shuffle_b\(i)", [b], shape: [])
        let t1 = e.node("Mul", inputs: [g, ca], suffix: "shuffle_mul\(i)")
        let t2 = e.node("Add", inputs: [t1, cb], suffix: "shuffle_add\(i)")
        g = e.node("Mod", inputs: [t2, count], suffix: "shuffle_mod\(i)")
      case .transpose(let dims, let perm):
        let cd = e.int64s("shuffle_dims\(i)", dims, shape: [dims.count])
        let t1 = e.node("Reshape", inputs: [g, cd], suffix: "shuffle_reshape\(i)")
        let t2 = e.node("Transpose", inputs: [t1], attributes: [Attribute("perm", .ints(perm))], suffix: "shuffle_transpose\(i)")
        g = e.node("Reshape", inputs: [t2, flatShape], suffix: "shuffle_flatten\(i)")
      }
    }
    return g
  }
}
