import Foundation

/// Resize (opset 10+) and Upsample (7, 9): nearest, linear (n-linear) and cubic, applied
/// axis by axis from the last, as ONNX's reference does; every coordinate transformation mode
/// of opset 11–18 except half_pixel_symmetric. Sizes win over scales; with scales the output
/// size is floor(in × scale) and the transform uses the given scale. Like the reference, the
/// transforms that divide by the output length (align_corners, pytorch_half_pixel,
/// tf_crop_and_resize) use in × scale before flooring.
struct Resize: Operator {
  enum Mode: String, Sendable { case nearest, linear, cubic }
  enum Transform: String, Sendable {
    case halfPixel = "half_pixel", pytorchHalfPixel = "pytorch_half_pixel", alignCorners = "align_corners"
    case asymmetric, tfHalfPixelForNearest = "tf_half_pixel_for_nearest", tfCropAndResize = "tf_crop_and_resize"
  }
  enum NearestRounding: String, Sendable {
    case roundPreferFloor = "round_prefer_floor", roundPreferCeil = "round_prefer_ceil", floor, ceil
  }
  let mode: Mode
  let transform: Transform
  let rounding: NearestRounding
  let cubicA: Float
  let excludeOutside: Bool
  let extrapolation: Float
  /// Upsample's scales attribute (opset 7), or nil.
  let scalesAttribute: [Float]?
  /// Input index of the scales (1 for Upsample and Resize-10, 2 from opset 11).
  let scalesInput: Int
  let sizesInput: Int?

  static func build(_ b: OpBuilder) throws -> Operator {
    if b.node.opType == "Upsample" {
      var raw = try b.string("mode", default: "nearest")
      if raw == "bilinear" { raw = "linear" }
      guard let mode = Mode(rawValue: raw), mode != .cubic else { throw b.unsupported("mode='\(raw)'") }
      let scales = b.opset < 9 ? try b.floats("scales") : nil
      return Resize(
        mode: mode, transform: .asymmetric, rounding: .floor, cubicA: -0.75, excludeOutside: false, extrapolation: 0,
        scalesAttribute: scales, scalesInput: 1, sizesInput: nil)
    }
    let rawMode = try b.string("mode", default: "nearest")
    guard let mode = Mode(rawValue: rawMode) else { throw b.unsupported("mode='\(rawMode)'") }
    let legacy = b.opset < 11
    let rawTransform = legacy ? "asymmetric" : try b.string("coordinate_transformation_mode", default: "half_pixel")
    guard let transform = Transform(rawValue: rawTransform) else { throw b.unsupported("coordinate_transformation_mode='\(rawTransform)'") }
    let rawRounding = legacy ? "round_prefer_floor" : try b.string("nearest_mode", default: "round_prefer_floor")
    guard let rounding = NearestRounding(rawValue: rawRounding) else { throw b.unsupported("nearest_mode='\(rawRounding)'") }
    if try b.int("antialias", default: 0) != 0 { throw b.unsupported("antialias=1") }
    let policy = try b.string("keep_aspect_ratio_policy", default: "stretch")
    if policy != "stretch" { throw b.unsupported("keep_aspect_ratio_policy='\(policy)'") }
    if b.has("axes") { _ = try b.ints("axes"); throw b.unsupported("attribute 'axes'") }
    return Resize(
      mode: mode, transform: transform, rounding: rounding, cubicA: try b.float("cubic_coeff_a", default: -0.75),
      excludeOutside: try b.int("exclude_outside", default: 0) != 0,
      extrapolation: try b.float("extrapolation_value", default: 0), scalesAttribute: nil,
      scalesInput: legacy ? 1 : 2, sizesInput: legacy ? nil : 3)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    let r = x.shape.count
    var scales: [Float]
    var outShape: [Int]
    if let sizesInput, let sizes = inputs.optional(sizesInput), sizes.count > 0 {
      outShape = try sizes.requireInts("sizes")
      guard outShape.count == r else { throw OpFailure("sizes has \(outShape.count) values for rank \(r)") }
      _ = try Axes.checkedCount(outShape)
      scales = (0..<r).map { x.shape[$0] == 0 ? 1 : Float(outShape[$0]) / Float(x.shape[$0]) }
    } else {
      guard let s = try scalesAttribute ?? inputs.optional(scalesInput)?.requireFloats("scales"), s.count == r else {
        throw OpFailure("scales (one per axis, \(r)) or sizes are required")
      }
      guard s.allSatisfy({ $0 > 0 }) else { throw OpFailure("scales \(s) must be positive") }
      scales = s
      outShape = try (0..<r).map { i -> Int in
        let size = (Float(x.shape[i]) * s[i]).rounded(.down)
        guard size < Float(1 << 40) else { throw OpFailure("scale \(s[i]) makes axis \(i) too large") }
        return Int(size)
      }
      _ = try Axes.checkedCount(outShape)
    }
    var roi = [Float](repeating: 0, count: r) + [Float](repeating: 1, count: r)
    if transform == .tfCropAndResize, let given = try inputs.optional(1)?.requireFloats("roi"), given.count == 2 * r {
      roi = given
    }
    var data = try x.requireFloats()
    var shape = x.shape
    for axis in stride(from: r - 1, through: 0, by: -1) {
      let n = shape[axis], m = outShape[axis]
      if n == m && scales[axis] == 1 && transform != .tfCropAndResize { continue }
      guard n > 0 || m == 0 else { throw OpFailure("cannot resize an empty axis \(axis) to \(m)") }
      let taps = (0..<m).map { tapsFor(output: $0, inSize: n, outSize: m, scale: scales[axis], roiStart: roi[axis], roiEnd: roi[axis + r]) }
      var resized = shape
      resized[axis] = m
      _ = try Axes.checkedCount(resized)  // axes resize one at a time; each step must fit too
      let outer = Axes.product(shape, 0..<axis), inner = Axes.product(shape, (axis + 1)..<r)
      // Taps flattened (source, weight) per output position; nil positions take `extrapolation`.
      // Every row is zeroed (or filled) by its own piece below: no serial zero-fill first.
      let total = outer * m * inner
      // Nearest taps are one source of weight 1: copy it (0 + 1·x would turn −0 into +0).
      let nearest: [Int]? = taps.allSatisfy({ $0?.count == 1 && $0![0].1 == 1 }) ? taps.map { $0![0].0 } : nil
      var next = [Float](unsafeUninitializedCapacity: total) { $1 = total }
      data.withUnsafeBufferPointer { src in
        next.withUnsafeMutableBufferPointer { dst in
          // Each outer index writes its own rows: independent pieces (same bits for any thread count).
          parallelFor(outer, threads: outer * m * inner >= elementwiseParallelMinimum ? context.threads : 1) { o in
            if let sources = nearest {
              // One source per output position: a copy (a gather along the last axis).
              let from = src.baseAddress! + o * n * inner, to = dst.baseAddress! + o * m * inner
              if inner == 1 {
                for j in 0..<m { to[j] = from[sources[j]] }
              } else {
                for j in 0..<m { (to + j * inner).update(from: from + sources[j] * inner, count: inner) }
              }
              return
            }
            for (j, t) in taps.enumerated() {
              let row = dst.baseAddress! + (o * m + j) * inner
              guard let t else {
                row.update(repeating: extrapolation, count: inner)
                continue
              }
              // Each value is 0 + w₀·x₀ + w₁·x₁ + … in tap order, as a per-element sum would be.
              row.update(repeating: 0, count: inner)
              for (at, w) in t {
                let from = src.baseAddress! + (o * n + at) * inner
                for i in 0..<inner { row[i] += w * from[i] }
              }
            }
          }
        }
      }
      data = next
      shape[axis] = m
    }
    return [x.with(shape: shape, storage: .floats(data))]
  }

  /// Source positions and weights of one output position along one axis; nil when the
  /// position falls outside a tf_crop_and_resize box (it takes `extrapolation`).
  private func tapsFor(output j: Int, inSize n: Int, outSize _: Int, scale: Float, roiStart: Float, roiEnd: Float) -> [(Int, Float)]? {
    let x = Float(j)
    let m = Float(n) * scale
    var xo: Float
    switch transform {
    case .halfPixel: xo = (x + 0.5) / scale - 0.5
    case .pytorchHalfPixel: xo = m > 1 ? (x + 0.5) / scale - 0.5 : 0
    case .alignCorners: xo = m == 1 ? 0 : x * Float(n - 1) / (m - 1)
    case .asymmetric: xo = x / scale
    case .tfHalfPixelForNearest: xo = (x + 0.5) / scale
    case .tfCropAndResize:
      xo = m > 1
        ? roiStart * Float(n - 1) + x * (roiEnd - roiStart) * Float(n - 1) / (m - 1)
        : 0.5 * (roiStart + roiEnd) * Float(n - 1)
      if xo < 0 || xo > Float(n - 1) { return nil }
    }
    func clamp(_ i: Int) -> Int { Swift.min(Swift.max(i, 0), n - 1) }
    switch mode {
    case .nearest:
      let i: Int
      switch rounding {
      case .roundPreferFloor: i = xo == xo.rounded(.down) + 0.5 ? Int(xo.rounded(.down)) : Int(xo.rounded())
      case .roundPreferCeil: i = xo == xo.rounded(.down) + 0.5 ? Int(xo.rounded(.up)) : Int(xo.rounded())
      case .floor: i = Int(xo.rounded(.down))
      case .ceil: i = Int(xo.rounded(.up))
      }
      return [(clamp(i), 1)]
    case .linear:
      let x0 = Int(xo.rounded(.down)), t = xo - Float(x0)
      return [(clamp(x0), 1 - t), (clamp(x0 + 1), t)]
    case .cubic:
      // Taps floor−1 … floor+2 with Keys' kernel; ratio in (0, 1] as the reference takes it.
      var x0 = Int(xo.rounded(.down)), t = xo - Float(x0)
      if t == 0 { x0 -= 1; t = 1 }
      let a = cubicA
      func far(_ d: Float) -> Float { ((a * d - 5 * a) * d + 8 * a) * d - 4 * a }
      func near(_ d: Float) -> Float { ((a + 2) * d - (a + 3)) * d * d + 1 }
      let weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
      var taps = (0..<4).map { (x0 - 1 + $0, weights[$0]) }
      if excludeOutside {
        taps = taps.map { ($0.0, $0.0 < 0 || $0.0 >= n ? 0 : $0.1) }
        let total = taps.reduce(0) { $0 + $1.1 }
        taps = taps.map { ($0.0, total != 0 ? $0.1 / total : 0) }
      }
      return taps.map { (clamp($0.0), $0.1) }
    }
  }
}
