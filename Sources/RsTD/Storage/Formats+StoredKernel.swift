import TensorAlgebra

// Each format's inverse of its own emission: the kernel its chain computes from the floats the
// file holds (after fp16/int8 storage), so the reported error is that of the written model, not
// of the float factors. Every function reads back exactly the layouts its format's `emit` writes.

extension SVDFormat {
  func storedKernel(_ stored: [String: [Float]], of f: Factorization, site: ConvSite, kernel: Tensor) -> (stored: Tensor, reference: Tensor) {
    let r = f.ranks[0]
    let m = site.outputChannels
    let right = stored["svd_right"]!, left = stored["svd_left"]!
    switch site.kind {
    case .conv, .gemm:
      // right [g·r, n], left [M, r]: group i is left rows i·M/g…, right rows i·r….
      let g = site.group, mg = m / g, n = right.count / (g * r)
      var out: [Float] = []
      for i in 0..<g {
        let l = Tensor(shape: [mg, r], scalars: Array(left[(i * mg * r)..<((i + 1) * mg * r)]))
        let rt = Tensor(shape: [r, n], scalars: Array(right[(i * r * n)..<((i + 1) * r * n)]))
        out += matmul(l, rt).scalars
      }
      return (Tensor(shape: kernel.shape, scalars: out), kernel)
    case .matMul:
      // right stored transposed [k, r], left transposed [r, M]: W = (right · left)ᵀ.
      let k = right.count / r
      let w = matmul(Tensor(shape: [k, r], scalars: right), Tensor(shape: [r, m], scalars: left)).transposed([1, 0])
      return (w, kernel)
    }
  }
}

extension Tucker2Format {
  func storedKernel(_ stored: [String: [Float]], of f: Factorization, site: ConvSite, kernel: Tensor) -> (stored: Tensor, reference: Tensor) {
    let (ro, ri) = (f.ranks[0], f.ranks[1])
    let g = site.group, mg = site.outputChannels / g, cg = site.inputChannelsPerGroup
    let k = site.kernelArea
    let first = stored["tucker2_in"]!, core = stored["tucker2_core"]!, last = stored["tucker2_out"]!
    var out: [Float] = []
    for i in 0..<g {
      let vt = Tensor(shape: [ri, cg], scalars: Array(first[(i * ri * cg)..<((i + 1) * ri * cg)]))
      let c = Tensor(shape: [ro, ri] + site.kernelSize, scalars: Array(core[(i * ro * ri * k)..<((i + 1) * ro * ri * k)]))
      let u = Tensor(shape: [mg, ro], scalars: Array(last[(i * mg * ro)..<((i + 1) * mg * ro)]))
      out += Tucker2Factors(core: c, output: u, input: vt.transposed([1, 0])).reconstruct().scalars
    }
    return (Tensor(shape: kernel.shape, scalars: out), kernel)
  }
}

extension CPFormat {
  func storedKernel(_ stored: [String: [Float]], of f: Factorization, site: ConvSite, kernel: Tensor) -> (stored: Tensor, reference: Tensor) {
    let r = f.ranks[0]
    let (m, c) = (site.outputChannels, site.inputChannelsPerGroup)
    let (k1, k2) = (site.kernelSize[0], site.kernelSize[1])
    // cp_in, cp_vertical, cp_horizontal are stored transposed ([R, n]); cp_out as [M, R].
    func column(_ suffix: String, _ n: Int) -> Tensor { Tensor(shape: [r, n], scalars: stored[suffix]!).transposed([1, 0]) }
    let factors = [
      Tensor(shape: [m, r], scalars: stored["cp_out"]!), column("cp_in", c), column("cp_vertical", k1), column("cp_horizontal", k2),
    ]
    return (CPFactors(factors: factors).reconstruct().reshaped(kernel.shape), kernel)
  }
}

extension KronFormat {
  func storedKernel(_ stored: [String: [Float]], of f: Factorization, site: ConvSite, kernel: Tensor) -> (stored: Tensor, reference: Tensor) {
    let layout = (f.factors as! ShuffledKronFactors).layout
    let r = f.ranks[0]
    let (c1, c2) = layout.outputSplit, (a1, a2) = layout.inputSplit
    // kron_a is A'[c1, (a1, r)] = a[r, c1, a1]; kron_b is b as is.
    let aPrime = stored["kron_a"]!
    var a = [Float](repeating: 0, count: r * c1 * a1)
    for o in 0..<c1 { for i in 0..<a1 { for q in 0..<r { a[(q * c1 + o) * a1 + i] = aPrime[(o * a1 + i) * r + q] } } }
    let b = Tensor(shape: [r, c2, a2] + site.kernelSize, scalars: stored["kron_b"]!)
    let w = KronFactors(a: Tensor(shape: [r, c1, a1], scalars: a), b: b).reconstruct()
    // The reference in the same permuted order: W'[o', i'] = W[π_out[o'], π_in[i']].
    let (m, c, k) = (site.outputChannels, site.inputChannelsPerGroup, site.kernelArea)
    var permuted = [Float](repeating: 0, count: kernel.count)
    for o in 0..<m { for i in 0..<c {
      let src = (layout.outputPermutation[o] * c + layout.inputPermutation[i]) * k, dst = (o * c + i) * k
      for t in 0..<k { permuted[dst + t] = kernel.scalars[src + t] }
    } }
    return (w, Tensor(shape: w.shape, scalars: permuted))
  }
}

extension ReconstructedFormat {
  func storedKernel(_ stored: [String: [Float]], of f: Factorization, site: ConvSite, kernel: Tensor) -> (stored: Tensor, reference: Tensor) {
    let m = site.outputChannels
    let rest = site.parameterCount / m
    let w: Tensor
    if let left = stored["rebuild_left"], let right = stored["rebuild_right"] {
      w = matmul(Tensor(shape: [m, f.ranks[0]], scalars: left), Tensor(shape: [f.ranks[0], rest], scalars: right))
    } else {
      let (ro, ri) = (f.ranks[0], f.ranks[1])
      let c = site.inputChannelsPerGroup
      let core = Tensor(shape: [ro, ri] + site.kernelSize, scalars: stored["rebuild_core"]!)
      let u = Tensor(shape: [m, ro], scalars: stored["rebuild_out"]!)
      let v = Tensor(shape: [ri, c], scalars: stored["rebuild_in_t"]!).transposed([1, 0])
      w = Tucker2Factors(core: core, output: u, input: v).reconstruct()
    }
    // The factors approximate the shuffled kernel; compare in that order.
    let reference = f.entryShuffle.map { $0.shuffle(kernel) } ?? kernel
    return (w.reshaped(kernel.shape), reference)
  }
}

extension SpatialFormat {
  func storedKernel(_ stored: [String: [Float]], of f: Factorization, site: ConvSite, kernel: Tensor) -> (stored: Tensor, reference: Tensor) {
    let r = f.ranks[0]
    let (m, c, k) = (site.outputChannels, site.inputChannelsPerGroup, site.kernelSize)
    let factors = SpatialFactors(
      vertical: Tensor(shape: [r, c, k[0]], scalars: stored["spatial_vertical"]!),
      horizontal: Tensor(shape: [m, r, k[1]], scalars: stored["spatial_horizontal"]!))
    return (factors.reconstruct(), kernel)
  }
}
