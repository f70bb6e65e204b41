import Executor
import ONNX
import TensorAlgebra

/// The input patches of a 2-D conv, as the conv sees them (zero padding included), for fits
/// that need the input's second moments rather than the output's: the spatial format's
/// response refit (`spatialResponseRefit`). A patch is ordered (c, i, j) like the kernel's
/// `[C, k1, k2]`, so `Cov(x)` pairs with the kernel unfolded as `[M, C·k1·k2]`.
struct PatchSpec: Sendable {
  /// The conv's data input.
  let input: String
  let channels: Int
  let kernel: [Int]
  let strides: [Int]
  let dilations: [Int]
  /// [top, left, bottom, right]; ignored when `autoPad` is SAME_UPPER/SAME_LOWER/VALID.
  let pads: [Int]
  let autoPad: String

  /// Patches wider than this (C·k1·k2) keep weight fits: the Gram alone would take
  /// dimension² doubles (2,304: 42 MiB per site; 4,608, a 512-channel 3×3 conv: 170 MiB).
  static let maxDimension = 2304

  var dimension: Int { channels * kernel[0] * kernel[1] }

  init?(_ site: ConvSite) {
    guard site.kind == .conv, site.kernelSize.count == 2, site.group == 1 else { return nil }
    self.init(node: site.node, channels: site.inputChannelsPerGroup, kernel: site.kernelSize)
  }

  /// The patches an ungrouped 2-D `Conv` node with `channels` inputs and `kernel` reads (a
  /// chain's own conv: sequential correction's 1×k last factor, a site's first factor).
  init?(node: Node, channels: Int, kernel: [Int]) {
    guard kernel.count == 2, channels >= 1, node.int("group", default: 1) == 1 else { return nil }
    input = node.inputs[0]
    self.channels = channels
    self.kernel = kernel
    strides = node.ints("strides") ?? [1, 1]
    dilations = node.ints("dilations") ?? [1, 1]
    pads = node.ints("pads") ?? [0, 0, 0, 0]
    autoPad = node.string("auto_pad") ?? "NOTSET"
    guard dimension <= Self.maxDimension, strides.count == 2, dilations.count == 2, pads.count == 4 else { return nil }
  }

  /// Padding before an axis of `size` and the output length along it.
  private func axis(_ a: Int, size: Int) -> (before: Int, out: Int) {
    let (k, s, d) = (kernel[a], strides[a], dilations[a])
    let span = (k - 1) * d + 1
    switch autoPad {
    case "SAME_UPPER", "SAME_LOWER":
      let out = (size + s - 1) / s
      let total = max((out - 1) * s + span - size, 0)
      return (autoPad == "SAME_UPPER" ? total / 2 : total - total / 2, out)
    case "VALID":
      return (0, size >= span ? (size - span) / s + 1 : 0)
    default:
      let padded = size + pads[a] + pads[a + 2]
      return (pads[a], padded >= span ? (padded - span) / s + 1 : 0)
    }
  }

  /// Columns per accumulation: bounds the patch block to about 2²¹ floats.
  private var chunk: Int { max(1, (1 << 21) / dimension) }

  /// Adds every patch of `value` (`[N, C, H, W]` floats) to `moments`; other shapes are ignored.
  func add(_ value: TensorValue, to moments: inout SecondMoments) {
    forEachBlock(of: value) { block, _, _, cols in moments.addColumns(block, columns: cols) }
  }

  /// Output positions per image of `value` (`[N, C, H, W]`), nil for another shape.
  func positions(of value: TensorValue) -> Int? {
    guard value.shape.count == 4, value.shape[1] == channels else { return nil }
    return axis(0, size: value.shape[2]).out * axis(1, size: value.shape[3]).out
  }

  /// Calls `body(block, image, start, cols)` for every run of output positions: `block` holds
  /// the patches of positions `start..<start + cols` of `image` as the columns of a row-major
  /// `[dimension, cols]` block (valid during the call). Other shapes are ignored.
  func forEachBlock(of value: TensorValue, _ body: (_ block: [Float], _ image: Int, _ start: Int, _ cols: Int) -> Void) {
    guard value.shape.count == 4, value.shape[1] == channels, let x = value.floats else { return }
    let (h, w) = (value.shape[2], value.shape[3])
    let (top, oh) = axis(0, size: h), (left, ow) = axis(1, size: w)
    let (k1, k2) = (kernel[0], kernel[1])
    let positions = oh * ow
    guard positions > 0 else { return }
    var block = [Float](repeating: 0, count: dimension * min(chunk, positions))
    for n in 0..<value.shape[0] {
      let base = n * channels * h * w
      var start = 0
      while start < positions {
        let cols = min(chunk, positions - start)
        for p in 0..<cols {
          let (y, xo) = ((start + p) / ow, (start + p) % ow)
          for c in 0..<channels {
            for i in 0..<k1 {
              let row = y * strides[0] - top + i * dilations[0]
              for j in 0..<k2 {
                let col = xo * strides[1] - left + j * dilations[1]
                let inside = row >= 0 && row < h && col >= 0 && col < w
                block[((c * k1 + i) * k2 + j) * cols + p] = inside ? x[base + (c * h + row) * w + col] : 0
              }
            }
          }
        }
        body(block, n, start, cols)
        start += cols
      }
    }
  }
}
