/// 2-D depthwise convolution (one input channel per output channel) computed directly: each
/// output row accumulates, kernel row by kernel row, weighted runs of one input row.
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
  /// then `finish(row, channel, count)` (bias and epilogue) on each finished output row, while
  /// it is in cache (zeroed just before, too: a plane is larger than the cache).
  static func run(
    _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, images: Int, channels: Int, geometry g: SpatialGeometry,
    into y: UnsafeMutablePointer<Float>, threads: Int, finish: (UnsafeMutablePointer<Float>, Int, Int) -> Void
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
    // Interior columns lo..<hi read all kw taps inside the row: there one pass per kernel row
    // adds its 3 or 5 taps to each output (a load and a store per output instead of one per
    // tap), in the same kx order, so every output sums the same products in the same order.
    let lo = spans.map(\.lo).max() ?? 0, hi = max(lo, spans.map(\.hi).min() ?? 0)
    let joined = (kw == 3 || kw == 5) && (sw == 1 || sw == 2) && hi > lo
    spans.withUnsafeBufferPointer { spans in
      // The output and the weights exist, so neither product overflows; theirs might.
      let (work, overflow) = (images * channels * oh * ow).multipliedReportingOverflow(by: kh * kw)
      parallelFor(images * channels, threads: !overflow && work < parallelMinimum ? 1 : threads) { plane in
        let ch = plane % channels
        let src = x + plane * ih * iw, dst = y + plane * oh * ow, wk = w + ch * kh * kw
        for oy in 0..<oh {
          let out = dst + oy * ow
          out.update(repeating: 0, count: ow)
          for ky in 0..<kh {
            let iy = oy * sh - ph + ky * dh
            if iy < 0 || iy >= ih { continue }
            let row = src + iy * iw, wr = wk + ky * kw
            for kx in 0..<kw {
              let weight = wr[kx], (first, lo0, hi0) = spans[kx]
              // Pointers to the span's start keep the index arithmetic unchecked (vectorised).
              func add(_ a: Int, _ b: Int) {
                if b <= a { return }
                let from = row + (first + a * sw), to = out + a
                if sw == 1 {
                  for t in 0..<(b - a) { to[t] += weight * from[t] }
                } else {
                  for t in 0..<(b - a) { to[t] += weight * from[t &* sw] }
                }
              }
              if joined {
                add(lo0, min(hi0, lo))
                add(max(lo0, hi), hi0)
              } else {
                add(lo0, hi0)
              }
            }
            if joined {
              let from = row + (lo * sw - pw), to = out + lo, n = hi - lo
              switch (kw, sw) {
              case (3, 1): Self.taps3(from, wr, dw, 1, to, n)
              case (3, _): Self.taps3(from, wr, dw, 2, to, n)
              case (5, 1): Self.taps5(from, wr, dw, 1, to, n)
              default: Self.taps5(from, wr, dw, 2, to, n)
              }
            }
          }
          finish(out, ch, ow)
        }
      }
    }
  }

  /// to[t] += w0·x[t·s] then += w1·x[t·s + d] then += w2·x[t·s + 2d], for t in 0..<n. Inlined
  /// with a literal stride, so the loop vectorises.
  @inline(__always)
  static func taps3(
    _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ d: Int, _ s: Int, _ to: UnsafeMutablePointer<Float>, _ n: Int
  ) {
    let (w0, w1, w2) = (w[0], w[1], w[2]), x1 = x + d, x2 = x + 2 * d
    for t in 0..<n {
      var v = to[t]
      v += w0 * x[t &* s]
      v += w1 * x1[t &* s]
      v += w2 * x2[t &* s]
      to[t] = v
    }
  }

  /// As `taps3`, with five taps.
  @inline(__always)
  static func taps5(
    _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ d: Int, _ s: Int, _ to: UnsafeMutablePointer<Float>, _ n: Int
  ) {
    let (w0, w1, w2, w3, w4) = (w[0], w[1], w[2], w[3], w[4])
    let x1 = x + d, x2 = x + 2 * d, x3 = x + 3 * d, x4 = x + 4 * d
    for t in 0..<n {
      var v = to[t]
      v += w0 * x[t &* s]
      v += w1 * x1[t &* s]
      v += w2 * x2[t &* s]
      v += w3 * x3[t &* s]
      v += w4 * x4[t &* s]
      to[t] = v
    }
  }
}
