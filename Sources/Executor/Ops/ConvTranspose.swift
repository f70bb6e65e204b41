import CLAPACK

/// ConvTranspose (N-D, groups, strides, dilations, pads, output_padding, output_shape,
/// auto_pad): per image and group, cols[Mg·K, P_in] = W_gᵀ × X_g with `cblas_sgemm`, then
/// col2im adds each column into the output window it came from.
///
/// Output size per axis: stride·(in − 1) + output_padding + dilation·(k − 1) + 1 − pads;
/// with output_shape (or SAME auto_pad, whose output is in·stride) the pads are derived from
/// the total: SAME_UPPER puts the smaller half first, other modes the larger.
struct ConvTranspose: Operator {
  let spatial: SpatialAttributes
  let group: Int
  let outputPadding: [Int]?
  let outputShape: [Int]?

  /// Output-channel blocks per image and group (fixed: the split must not depend on threads).
  static let channelBlocks = 8

  static func build(_ b: OpBuilder) throws -> Operator {
    let group = try ConvOperands.group(b)
    let outputPadding = try b.ints("output_padding"), outputShape = try b.ints("output_shape")
    for (name, values) in [("output_padding", outputPadding), ("output_shape", outputShape)] {
      if let v = values, v.contains(where: { $0 < 0 || $0 > Axes.maxElements }) { throw b.unsupported("\(name) \(v) out of range") }
    }
    return ConvTranspose(
      spatial: try SpatialAttributes(b), group: group, outputPadding: outputPadding, outputShape: outputShape)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let operands = try ConvOperands(inputs)
    let xv = operands.xv, wv = operands.wv, x = operands.x, w = operands.w, bias = operands.bias
    let n = xv.shape[0], c = xv.shape[1], mg = wv.shape[1], m = mg * group
    guard wv.shape[0] == c, c % group == 0 else { throw OpFailure("W \(wv.shape) does not match \(c) input channels in \(group) groups") }
    if let bias, bias.count != m { throw OpFailure("B has \(bias.count) values; the output has \(m) channels") }
    let cg = c / group
    let input = Array(xv.shape[2...]), kernel = Array(wv.shape[2...]), nd = input.count
    if let k = spatial.kernelShape, k != kernel { throw OpFailure("kernel_shape \(k) differs from W's \(kernel)") }
    let s = spatial.strides ?? [Int](repeating: 1, count: nd)
    let d = spatial.dilations ?? [Int](repeating: 1, count: nd)
    let extra = outputPadding ?? [Int](repeating: 0, count: nd)
    guard s.count == nd, d.count == nd, extra.count == nd else { throw OpFailure("strides, dilations and output_padding need \(nd) values") }
    var begin = [Int](repeating: 0, count: nd), output = begin
    for i in 0..<nd {
      let full = s[i] * (input[i] - 1) + extra[i] + d[i] * (kernel[i] - 1) + 1
      var target: Int? = nil
      if let shape = outputShape { target = shape.count == nd ? shape[i] : (shape.count == nd + 2 ? shape[i + 2] : nil) }
      if target == nil, spatial.autoPad == .sameUpper || spatial.autoPad == .sameLower { target = input[i] * s[i] }
      if let target {
        // Floor division, as the reference: a negative total (output_shape larger than the
        // natural size) adds zeros at the end.
        let total = full - target
        let half = total >= 0 ? total / 2 : -((-total + 1) / 2)
        begin[i] = spatial.autoPad == .sameUpper ? half : total - half
        output[i] = target
      } else if spatial.autoPad == .notSet, let p = spatial.pads {
        guard p.count == 2 * nd else { throw OpFailure("pads has \(p.count) values; \(2 * nd) needed") }
        begin[i] = p[i]
        output[i] = full - p[i] - p[i + nd]
      } else {
        output[i] = full
      }
      guard output[i] >= 0 else { throw OpFailure("output size \(output[i]) on spatial axis \(i) is negative") }
    }
    _ = try Axes.checkedCount([n, m] + output)  // sizes computed from attributes, not from data
    let pin = input.reduce(1, *), pout = output.reduce(1, *), kCount = kernel.reduce(1, *), rows = mg * kCount
    let total = n * m * pout, computed = pin > 0 && rows > 0 && cg > 0
    // When computed, each piece zeroes its own channels first: no serial zero-fill.
    var out = computed ? [Float](unsafeUninitializedCapacity: total) { $1 = total } : [Float](repeating: 0, count: total)
    let outStrides = Axes.strides(output)
    if computed {
      x.withUnsafeBufferPointer { xp in
        w.withUnsafeBufferPointer { wp in
          out.withUnsafeMutableBufferPointer { op in
            let xBase = xp.baseAddress!, wBase = wp.baseAddress!, oBase = op.baseAddress!
            // Pieces: (image, group, block of output channels). A channel's values come only
            // from its own rows (sgemm of those rows, then col2im in the same order), so the
            // split gives the same bits for any thread count; bias follows, per channel.
            let blocks = max(1, min(mg, Self.channelBlocks)), perBlock = (mg + blocks - 1) / blocks
            parallelFor(n * group * blocks, threads: context.threads) { item in
              let block = item % blocks, gi = (item / blocks) % group, img = item / (blocks * group)
              let c0 = block * perBlock, channels = min(perBlock, mg - c0)
              if channels <= 0 { return }
              let blockRows = channels * kCount
              // sgemm (beta 0) writes every column value: no need to zero the buffer first.
              let cBase = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * pin)
              defer { cBase.deallocate() }
              // Rows c0·K ..< (c0 + channels)·K of W_gᵀ: columns of W_g from c0·K on.
              cblas_sgemm(
                CblasRowMajor, CblasTrans, CblasNoTrans, Int32(blockRows), Int32(pin), Int32(cg), 1,
                wBase + gi * cg * rows + c0 * kCount, Int32(rows), xBase + (img * c + gi * cg) * pin, Int32(pin), 0, cBase,
                Int32(pin))
              let yg = oBase + (img * m + gi * mg + c0) * pout
              yg.update(repeating: 0, count: channels * pout)
              defer {
                if let bias {
                  for o in 0..<channels {
                    let b = bias[gi * mg + c0 + o], dst = yg + o * pout
                    for i in 0..<pout { dst[i] += b }
                  }
                }
              }
              if nd == 2 {
                Self.col2im2D(cBase, rows: blockRows, input: input, kernel: kernel, strides: s, dilations: d, begin: begin, output: output, into: yg)
                return
              }
              var tap = [Int](repeating: 0, count: nd), at = [Int](repeating: 0, count: nd)
              for row in 0..<blockRows {
                let channel = row / kCount
                var rest = row % kCount
                for a in stride(from: nd - 1, through: 0, by: -1) { tap[a] = (rest % kernel[a]) * d[a]; rest /= kernel[a] }
                let dst = yg + channel * pout
                for p in 0..<pin {
                  var r = p, offset = 0, inside = true
                  for a in stride(from: nd - 1, through: 0, by: -1) { at[a] = r % input[a]; r /= input[a] }
                  for a in 0..<nd {
                    let o = at[a] * s[a] - begin[a] + tap[a]
                    if o < 0 || o >= output[a] { inside = false; break }
                    offset += o * outStrides[a]
                  }
                  if inside { dst[offset] += cBase[row * pin + p] }
                }
              }
            }
          }
        }
      }
    }
    if let bias, !computed {
      for img in 0..<n {
        for o in 0..<m {
          let base = (img * m + o) * pout
          for i in base..<(base + pout) { out[i] += bias[o] }
        }
      }
    }
    return [xv.with(shape: [n, m] + output, storage: .floats(out))]
  }

  /// The 2-D col2im: adds each column value into its output position, in the same order as the
  /// N-D loop (rows, then input positions), walking input rows with the in-range part found once.
  static func col2im2D(
    _ cols: UnsafePointer<Float>, rows: Int, input: [Int], kernel: [Int], strides s: [Int], dilations d: [Int],
    begin: [Int], output: [Int], into y: UnsafeMutablePointer<Float>
  ) {
    let (ih, iw, oh, ow) = (input[0], input[1], output[0], output[1])
    let kCount = kernel[0] * kernel[1], sw = s[1]
    for row in 0..<rows {
      let channel = row / kCount, k = row % kCount
      let ty = (k / kernel[1]) * d[0] - begin[0], tx = (k % kernel[1]) * d[1] - begin[1]
      // Input columns ix with 0 ≤ ix·sw + tx < ow.
      let lo = tx >= 0 ? 0 : min(iw, (-tx + sw - 1) / sw)
      let hi = tx > ow - 1 ? lo : max(lo, min(iw, (ow - 1 - tx) / sw + 1))
      let dst = y + channel * oh * ow
      for iy in 0..<ih {
        let oy = iy * s[0] + ty
        if oy < 0 || oy >= oh { continue }
        let src = cols + row * ih * iw + iy * iw, out = dst + oy * ow
        for ix in lo..<hi { out[ix &* sw &+ tx] += src[ix] }
      }
    }
  }
}
