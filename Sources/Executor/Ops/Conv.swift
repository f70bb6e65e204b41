import CLAPACK

/// Conv (1-D, 2-D, 3-D, any N-D): per image and group, out[Mg, P] = W_g[Mg, Cg·K] × col[Cg·K, P]
/// with `cblas_sgemm`, where col is the im2col unfolding of the padded, strided, dilated input.
/// 1×1 convs with unit stride and no padding multiply the input directly.
///
/// Work is split into (image, group, output-channel block, column block) tiles whose boundaries
/// depend only on the shapes, each run by single-threaded sgemm, so the bits do not depend on
/// the thread count. With one channel block, each tile unfolds its own columns; with several,
/// each image and group is unfolded once (pieces in parallel), then its tiles multiply.
struct Conv: Operator {
  let spatial: SpatialAttributes
  let group: Int
  /// Elementwise nodes folded into this Conv at compile time (`ConvFusion`).
  var epilogue: Epilogue? = nil

  /// Output columns per piece: enough to keep sgemm efficient, small enough to split work.
  static let columnsPerPiece = 1024

  /// Multiply-adds below which the conv runs on the caller alone (sgemm does this many in
  /// ≈ 10 µs): handing its pieces to a helper saves a few µs of wall clock and costs the
  /// helper's spin after the region (up to `WorkerPool.spinNanoseconds` of a second core), so a
  /// chain of small grouped convs (kron's factors on 8×8 maps) kept a helper spinning for the
  /// whole run. The pieces and their order are the same, so are the bits.
  static let parallelMinimum = 1 << 18

  static func build(_ b: OpBuilder) throws -> Operator {
    let group = try ConvOperands.group(b)
    return Conv(spatial: try SpatialAttributes(b), group: group)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let operands = try ConvOperands(inputs)
    let xv = operands.xv, wv = operands.wv, x = operands.x, w = operands.w, bias = operands.bias
    let n = xv.shape[0], c = xv.shape[1], m = wv.shape[0], cg = wv.shape[1]
    guard c == cg * group, m % group == 0 else {
      throw OpFailure("X has \(c) channels and W \(wv.shape) with group \(group) expects \(cg * group) in, \(m) out divisible by group")
    }
    if let bias, bias.count != m { throw OpFailure("B has \(bias.count) values; W has \(m) output channels") }
    let kernel = Array(wv.shape[2...])
    if let k = spatial.kernelShape, k != kernel { throw OpFailure("kernel_shape \(k) differs from W's \(kernel)") }
    let g = try spatial.geometry(input: Array(xv.shape[2...]), kernel: kernel)
    _ = try Axes.checkedCount([n, m] + g.output)
    let mg = m / group, p = g.outputCount, inSize = g.inputCount, rows = cg * g.kernelCount
    let filled = p > 0 && rows > 0, total = n * m * p
    // sgemm (beta 0) writes every output when there is anything to multiply.
    var out =
      filled
      ? context.buffers?.take(total) ?? [Float](unsafeUninitializedCapacity: total) { $1 = total } : [Float](repeating: 0, count: total)
    let pieces = max(1, (p + Self.columnsPerPiece - 1) / Self.columnsPerPiece)
    // Channel blocks give small late layers (7×7 outputs, one column block) work to share.
    let channelSplits = max(1, min((8 + pieces - 1) / pieces, mg / 32))
    let channelsPerBlock = (mg + channelSplits - 1) / channelSplits
    let pointwise = g.isPointwise
    // The output exists, so `total` does not overflow; `total · rows` might.
    let (work, overflow) = total.multipliedReportingOverflow(by: rows)
    let threads = !overflow && work < Self.parallelMinimum ? 1 : context.threads
    if filled && cg == 1 && mg == 1 && g.input.count == 2 {
      x.withUnsafeBufferPointer { xp in
        w.withUnsafeBufferPointer { wp in
          out.withUnsafeMutableBufferPointer { op in
            DepthwiseConv.run(
              xp.baseAddress!, wp.baseAddress!, images: n, channels: c, geometry: g, into: op.baseAddress!, threads: context.threads
            ) { row, ch, count in finish(row, bias: bias, channels: ch..<(ch + 1), columns: count, rowStride: count) }
          }
        }
      }
    } else if filled {
      x.withUnsafeBufferPointer { xp in
        w.withUnsafeBufferPointer { wp in
          out.withUnsafeMutableBufferPointer { op in
            let xBase = xp.baseAddress!, wBase = wp.baseAddress!, oBase = op.baseAddress!
            func multiply(_ img: Int, _ gi: Int, _ piece: Int, _ block: Int, _ b: UnsafePointer<Float>, _ ldb: Int) {
              let j0 = piece * Self.columnsPerPiece, cols = min(Self.columnsPerPiece, p - j0)
              let m0 = block * channelsPerBlock, mb = min(channelsPerBlock, mg - m0)
              if mb <= 0 { return }
              cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(mb), Int32(cols), Int32(rows), 1,
                wBase + (gi * mg + m0) * rows, Int32(rows), b, Int32(ldb), 0, oBase + (img * m + gi * mg + m0) * p + j0,
                Int32(p))
              finish(oBase + (img * m + gi * mg + m0) * p + j0, bias: bias, channels: (gi * mg + m0)..<(gi * mg + m0 + mb), columns: cols, rowStride: p)
            }
            func input(_ img: Int, _ gi: Int) -> UnsafePointer<Float> { xBase + (img * c + gi * cg) * inSize }
            if pointwise {
              parallelFor(n * group * pieces * channelSplits, threads: threads) { item in
                let block = item % channelSplits, rest = item / channelSplits
                let piece = rest % pieces, ng = rest / pieces
                multiply(ng / group, ng % group, piece, block, input(ng / group, ng % group) + piece * Self.columnsPerPiece, p)
              }
            } else if channelSplits == 1 {
              parallelFor(n * group * pieces, threads: threads) { item in
                let piece = item % pieces, ng = item / pieces
                let j0 = piece * Self.columnsPerPiece, cols = min(Self.columnsPerPiece, p - j0)
                // im2col writes every element: no need to zero the buffer first.
                let col = UnsafeMutablePointer<Float>.allocate(capacity: rows * cols)
                defer { col.deallocate() }
                Self.im2col(input(ng / group, ng % group), channels: cg, geometry: g, columns: j0..<(j0 + cols), into: col)
                multiply(ng / group, ng % group, piece, 0, col, cols)
              }
            } else {
              // Unfold each piece once into a shared buffer, then multiply every tile of it.
              // im2col writes every element: no need to zero the buffer first.
              let colBase = UnsafeMutablePointer<Float>.allocate(capacity: rows * p)
              defer { colBase.deallocate() }
              // Late layers have one column piece: split its unfolding by input channels too,
              // so both threads copy (each item writes its own rows; a copy, so any split gives
              // the same bits).
              let chunks = max(1, min(cg, (8 + pieces - 1) / pieces))
              let channelsPerChunk = (cg + chunks - 1) / chunks
              for ng in 0..<(n * group) {
                parallelFor(pieces * chunks, threads: threads) { item in
                  let piece = item / chunks, c0 = (item % chunks) * channelsPerChunk
                  let j0 = piece * Self.columnsPerPiece, cols = min(Self.columnsPerPiece, p - j0)
                  let count = min(channelsPerChunk, cg - c0)
                  if count <= 0 { return }
                  Self.im2col(
                    input(ng / group, ng % group) + c0 * inSize, channels: count, geometry: g, columns: j0..<(j0 + cols),
                    into: colBase + rows * j0 + c0 * g.kernelCount * cols)
                }
                parallelFor(pieces * channelSplits, threads: threads) { item in
                  let piece = item / channelSplits, block = item % channelSplits
                  let cols = min(Self.columnsPerPiece, p - piece * Self.columnsPerPiece)
                  multiply(ng / group, ng % group, piece, block, colBase + rows * piece * Self.columnsPerPiece, cols)
                }
              }
            }
          }
        }
      }
    }
    if !filled {
      out.withUnsafeMutableBufferPointer { op in
        for img in 0..<n { finish(op.baseAddress! + img * m * p, bias: bias, channels: 0..<m, columns: p, rowStride: p) }
      }
    }
    return [xv.with(shape: [n, m] + g.output, storage: .floats(out))]
  }

  /// Bias, then the epilogue, on a tile of output rows (one per channel) while it is in cache.
  private func finish(_ tile: UnsafeMutablePointer<Float>, bias: [Float]?, channels: Range<Int>, columns: Int, rowStride: Int) {
    for (r, o) in channels.enumerated() {
      let row = tile + r * rowStride
      if let b = bias?[o] { for i in 0..<columns { row[i] += b } }
      epilogue?.apply(row, count: columns, channel: o)
    }
  }

  /// Writes rows (channel, kernel offset) × `columns` (output positions) of the unfolded input;
  /// positions in the padding read as 0.
  static func im2col(
    _ x: UnsafePointer<Float>, channels: Int, geometry g: SpatialGeometry, columns: Range<Int>,
    into col: UnsafeMutablePointer<Float>
  ) {
    if g.input.count == 2 { return im2col2D(x, channels: channels, geometry: g, columns: columns, into: col) }
    let nd = g.input.count, cols = columns.count
    let inStrides = Axes.strides(g.input)
    // Per column and axis: the input coordinate of the window's first tap.
    var origin = [Int](repeating: 0, count: cols * nd)
    for (j, position) in columns.enumerated() {
      var rest = position
      for d in stride(from: nd - 1, through: 0, by: -1) {
        let o = rest % g.output[d]
        rest /= g.output[d]
        origin[j * nd + d] = o * g.strides[d] - g.padBegin[d]
      }
    }
    let kCount = g.kernelCount
    var tap = [Int](repeating: 0, count: nd)
    origin.withUnsafeBufferPointer { org in
      for k in 0..<kCount {
        var rest = k
        for d in stride(from: nd - 1, through: 0, by: -1) {
          tap[d] = (rest % g.kernel[d]) * g.dilations[d]
          rest /= g.kernel[d]
        }
        for ch in 0..<channels {
          let src = x + ch * g.inputCount
          let dst = col + (ch * kCount + k) * cols
          for j in 0..<cols {
            var offset = 0
            var inside = true
            for d in 0..<nd {
              let i = org[j * nd + d] + tap[d]
              if i < 0 || i >= g.input[d] { inside = false; break }
              offset += i * inStrides[d]
            }
            dst[j] = inside ? src[offset] : 0
          }
        }
      }
    }
  }

  /// The 2-D case of `im2col`, walking output rows so that each kernel tap copies runs of
  /// one input row (contiguous when the stride is 1) and zero-fills padding in bulk.
  ///
  /// The row and column of the first position are divided out once; later runs start at a
  /// row's first column, whose inside taps (`lo..<hi`) depend only on `kx` and are computed
  /// once per tap. Small maps (8×8 on 16 channels: 1,152 runs of 8 floats) spent more time in
  /// the per-run divisions and `memmove` calls than in the copies. Data movement only: the
  /// columns are the same floats.
  static func im2col2D(
    _ x: UnsafePointer<Float>, channels: Int, geometry g: SpatialGeometry, columns: Range<Int>,
    into col: UnsafeMutablePointer<Float>
  ) {
    if columns == 0..<g.outputCount, let plane = paddedPlane(g) {
      return im2col2DPadded(x, channels: channels, geometry: g, plane: plane, into: col)
    }
    let (ih, iw) = (g.input[0], g.input[1]), ow = g.output[1]
    let (kh, kw) = (g.kernel[0], g.kernel[1]), (sh, sw) = (g.strides[0], g.strides[1])
    let (dh, dw) = (g.dilations[0], g.dilations[1]), (ph, pw) = (g.padBegin[0], g.padBegin[1])
    let cols = columns.count, end = columns.upperBound
    let firstRow = columns.lowerBound / ow, firstColumn = columns.lowerBound % ow
    /// Taps of a run of `run` outputs whose first tap reads input column `first` that fall
    /// inside the row: t in lo..<hi; the rest read padding.
    @inline(__always) func inside(_ first: Int, _ run: Int) -> (lo: Int, hi: Int) {
      let lo = first >= 0 ? 0 : min(run, (-first + sw - 1) / sw)
      let hi = first > iw - 1 ? lo : max(lo, min(run, (iw - 1 - first) / sw + 1))
      return (lo, hi)
    }
    // Per kx: the first tap's input column for a run from column 0, and its inside taps.
    let rowStart = (0..<kw).map { kx in kx * dw - pw }
    let fullRow = rowStart.map { inside($0, ow) }
    for ch in 0..<channels {
      let src = x + ch * ih * iw
      for ky in 0..<kh {
        for kx in 0..<kw {
          let rowFirst = rowStart[kx], full = fullRow[kx]
          let dst = col + ((ch * kh + ky) * kw + kx) * cols
          var j = columns.lowerBound, oy = firstRow, ox0 = firstColumn
          while j < end {
            let run = min(ow - ox0, end - j)
            let out = dst + (j - columns.lowerBound)
            let y = oy * sh - ph + ky * dh
            if y < 0 || y >= ih {
              for t in 0..<run { out[t] = 0 }
            } else {
              let first = ox0 * sw + rowFirst
              let (lo, hi) = ox0 == 0 && run == ow ? full : inside(first, run)
              let row = src + y * iw
              for t in 0..<lo { out[t] = 0 }
              if sw == 1 {
                for t in lo..<hi { out[t] = row[first &+ t] }
              } else {
                for t in lo..<hi { out[t] = row[first &+ t &* sw] }
              }
              for t in hi..<run { out[t] = 0 }
            }
            j += run
            oy += 1
            ox0 = 0
          }
        }
      }
    }
  }

  /// `im2col2D` over every position of a map when the column stride is 1 (the maps small
  /// enough for one piece, `columnsPerPiece`): each channel's plane is copied into a plane with
  /// a zero border that covers every position a tap reads, so the row of tap (ky, kx) is one
  /// run of `ow` floats per output row, moved eight at a time, with no bounds or padding tests.
  /// The border is zeroed once; each channel overwrites only the inside. On 8×8 maps the
  /// earlier copies spent more in `memset`/`memmove` calls of a few floats each than in moving
  /// the data. Data movement only: the same floats land in the same places.
  static func im2col2DPadded(
    _ x: UnsafePointer<Float>, channels: Int, geometry g: SpatialGeometry, plane size: (height: Int, width: Int),
    into col: UnsafeMutablePointer<Float>
  ) {
    let (ih, iw) = (g.input[0], g.input[1]), (oh, ow) = (g.output[0], g.output[1])
    let (kh, kw) = (g.kernel[0], g.kernel[1]), sh = g.strides[0], (dh, dw) = (g.dilations[0], g.dilations[1])
    let (ph, pw) = (g.padBegin[0], g.padBegin[1])
    let cols = oh * ow, (height, width) = size
    let (r0, r1) = (min(ph, height), min(height, ih + ph)), (c0, c1) = (min(pw, width), min(width, iw + pw))
    withUnsafeTemporaryAllocation(of: Float.self, capacity: height * width) { buffer in
      let plane = buffer.baseAddress!
      plane.update(repeating: 0, count: height * width)
      for ch in 0..<channels {
        let src = x + ch * ih * iw
        if r0 < r1 && c0 < c1 {
          for r in r0..<r1 { copyFloats(from: src + (r - ph) * iw + (c0 - pw), to: plane + r * width + c0, count: c1 - c0) }
        }
        // Sizes are checked (`paddedPlane`): the offsets below cannot overflow.
        var dst = col + ch &* kh &* kw &* cols
        for ky in 0..<kh {
          for kx in 0..<kw {
            var from = UnsafePointer(plane + (ky &* dh &* width &+ kx &* dw))
            for _ in 0..<oh {
              copyFloats(from: from, to: dst, count: ow)
              from += sh &* width
              dst += ow
            }
          }
        }
      }
    }
  }

  /// The zero-bordered plane `im2col2DPadded` copies each channel into (plane[r][c] is
  /// x[r − padBegin₀][c − padBegin₁]: the rows and columns the taps read), when the column
  /// stride is 1, there is an output, and the plane is no larger than four times the input
  /// plane or the output (large dilations read few of its positions: the run walk does
  /// better); nil otherwise.
  static func paddedPlane(_ g: SpatialGeometry) -> (height: Int, width: Int)? {
    let (oh, ow) = (g.output[0], g.output[1])
    guard g.strides[1] == 1, oh > 0, ow > 0 else { return nil }
    // Attributes are at most `SpatialAttributes.maxValue`: these products do not overflow.
    let height = (oh - 1) * g.strides[0] + (g.kernel[0] - 1) * g.dilations[0] + 1
    let width = ow + (g.kernel[1] - 1) * g.dilations[1]
    let (area, overflow) = height.multipliedReportingOverflow(by: width)
    guard !overflow, area <= 4 * max(g.inputCount, oh * ow) else { return nil }
    return (height, width)
  }

  /// Copies `count` floats eight at a time (runs of a few floats: no call into `memmove`).
  @inline(__always)
  private static func copyFloats(from src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int) {
    var t = 0
    while t &+ 8 <= count {
      UnsafeMutableRawPointer(dst + t).storeBytes(
        of: UnsafeRawPointer(src + t).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
      t &+= 8
    }
    while t < count {
      dst[t] = src[t]
      t &+= 1
    }
  }
}
