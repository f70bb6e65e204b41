/// 2-D depthwise convolution (one input channel per output channel) computed directly: each
/// output row accumulates, tap by tap, a weighted run of one input row.
///
/// Through im2col such a conv unfolds K values per output and multiplies them by a single row
/// of weights (a matrix-vector product): the unfolding costs more than the arithmetic, which is
/// K multiply-adds per output (PP-OCR det's 3×3 and 5×5 depthwise layers at 184² and 368²).
/// Pieces are (image, channel) planes, so any thread count gives the same bits.
enum DepthwiseConv {
  /// Multiply-adds below which the conv runs on the caller alone: handing planes to a helper and
  /// waiting for it costs more than they do (a CP chain's 3×1 and 1×3 layers on 8×8 maps spent
  /// more CPU in the pool's hand-off than in arithmetic). Any thread count gives the same bits.
  static let parallelMinimum = 1 << 16

  /// y[img, ch] = Σ over taps (ky, kx), in order, of w[ch, ky, kx] · x[img, ch] at the tap;
  /// then `finish(plane, channel)` (bias and epilogue) on the finished plane.
  static func run(
    _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, images: Int, channels: Int, geometry g: SpatialGeometry,
    into y: UnsafeMutablePointer<Float>, threads: Int, finish: (UnsafeMutablePointer<Float>, Int) -> Void
  ) {
    let (ih, iw, oh, ow) = (g.input[0], g.input[1], g.output[0], g.output[1])
    let (kh, kw) = (g.kernel[0], g.kernel[1]), (sh, sw) = (g.strides[0], g.strides[1])
    let (dh, dw) = (g.dilations[0], g.dilations[1]), (ph, pw) = (g.padBegin[0], g.padBegin[1])
    // Per kx: the output columns lo..<hi whose tap falls inside the input row.
    let spans = (0..<kw).map { kx -> (first: Int, lo: Int, hi: Int) in
      let first = kx * dw - pw
      let lo = first >= 0 ? 0 : min(ow, (-first + sw - 1) / sw)
      let hi = first > iw - 1 ? lo : max(lo, min(ow, (iw - 1 - first) / sw + 1))
      return (first, lo, hi)
    }
    spans.withUnsafeBufferPointer { spans in
      // The output and the weights exist, so neither product overflows; theirs might.
      let (work, overflow) = (images * channels * oh * ow).multipliedReportingOverflow(by: kh * kw)
      parallelFor(images * channels, threads: !overflow && work < parallelMinimum ? 1 : threads) { plane in
        let ch = plane % channels
        let src = x + plane * ih * iw, dst = y + plane * oh * ow, wk = w + ch * kh * kw
        dst.update(repeating: 0, count: oh * ow)
        for oy in 0..<oh {
          let out = dst + oy * ow
          for ky in 0..<kh {
            let iy = oy * sh - ph + ky * dh
            if iy < 0 || iy >= ih { continue }
            let row = src + iy * iw
            for kx in 0..<kw {
              let weight = wk[ky * kw + kx], (first, lo, hi) = spans[kx]
              // Pointers to the span's start keep the index arithmetic unchecked (vectorised).
              let from = row + (first + lo * sw), to = out + lo
              if sw == 1 {
                for t in 0..<(hi - lo) { to[t] += weight * from[t] }
              } else {
                for t in 0..<(hi - lo) { to[t] += weight * from[t &* sw] }
              }
            }
          }
        }
        finish(dst, ch)
      }
    }
  }
}
