/// The window attributes shared by Conv and the pools (kernel_shape, strides, dilations, pads,
/// auto_pad), read once when the node is compiled.
struct SpatialAttributes: Sendable {
  enum AutoPad: String, Sendable { case notSet = "NOTSET", valid = "VALID", sameUpper = "SAME_UPPER", sameLower = "SAME_LOWER" }
  let kernelShape: [Int]?
  let strides: [Int]?
  let dilations: [Int]?
  let pads: [Int]?
  let autoPad: AutoPad

  init(_ b: OpBuilder, dilations readDilations: Bool = true) throws {
    kernelShape = try b.ints("kernel_shape")
    strides = try b.ints("strides")
    dilations = readDilations ? try b.ints("dilations") : nil
    pads = try b.ints("pads")
    let raw = try b.string("auto_pad", default: "NOTSET")
    guard let mode = AutoPad(rawValue: raw) else { throw b.unsupported("auto_pad='\(raw)'") }
    autoPad = mode
    if let s = strides, s.contains(where: { $0 < 1 }) { throw b.invalid("strides \(s) must be positive") }
    if let d = dilations, d.contains(where: { $0 < 1 }) { throw b.invalid("dilations \(d) must be positive") }
    if let p = pads, p.contains(where: { $0 < 0 }) { throw b.unsupported("negative pads \(p)") }
    // Bounded so that sizes computed from them and a tensor's dims (≤ 2³²) cannot overflow.
    let limit = SpatialAttributes.maxValue
    for (name, values) in [("kernel_shape", kernelShape), ("strides", strides), ("dilations", dilations), ("pads", pads)] {
      if let v = values, v.contains(where: { $0 > limit }) { throw b.unsupported("\(name) \(v) above \(limit)") }
    }
  }

  /// The largest kernel size, stride, dilation, pad or group the executor accepts (2²⁰).
  static let maxValue = 1 << 20

  /// Output sizes and padding for spatial input `input` and window `kernel`.
  /// - Parameter ceilMode: pools' ceil_mode: round the output size up, but never start a
  ///   window entirely in the end padding.
  func geometry(input: [Int], kernel: [Int], ceilMode: Bool = false) throws -> SpatialGeometry {
    let n = input.count
    guard kernel.count == n else { throw OpFailure("kernel has \(kernel.count) spatial axes, input has \(n)") }
    let s = strides ?? [Int](repeating: 1, count: n)
    let d = dilations ?? [Int](repeating: 1, count: n)
    guard s.count == n, d.count == n else { throw OpFailure("strides/dilations need \(n) values") }
    var begin = [Int](repeating: 0, count: n), end = begin, output = begin
    for i in 0..<n {
      let extent = d[i] * (kernel[i] - 1) + 1
      switch autoPad {
      case .notSet, .valid:
        if autoPad == .notSet, let p = pads {
          guard p.count == 2 * n else { throw OpFailure("pads has \(p.count) values; \(2 * n) needed") }
          begin[i] = p[i]
          end[i] = p[i + n]
        }
        let span = input[i] + begin[i] + end[i] - extent
        guard span >= 0 else { throw OpFailure("window \(extent) is larger than padded input \(input[i] + begin[i] + end[i])") }
        if ceilMode {
          var o = (span + s[i] - 1) / s[i] + 1
          if (o - 1) * s[i] >= input[i] + begin[i] { o -= 1 }
          output[i] = o
        } else {
          output[i] = span / s[i] + 1
        }
      case .sameUpper, .sameLower:
        output[i] = (input[i] + s[i] - 1) / s[i]
        let total = max(0, (output[i] - 1) * s[i] + extent - input[i])
        begin[i] = autoPad == .sameUpper ? total / 2 : total - total / 2
        end[i] = total - begin[i]
      }
    }
    return SpatialGeometry(input: input, output: output, kernel: kernel, strides: s, dilations: d, padBegin: begin, padEnd: end)
  }
}

/// Resolved sizes of one windowed op on one input shape.
struct SpatialGeometry: Sendable {
  let input: [Int]
  let output: [Int]
  let kernel: [Int]
  let strides: [Int]
  let dilations: [Int]
  let padBegin: [Int]
  let padEnd: [Int]

  var outputCount: Int { output.reduce(1, *) }
  var inputCount: Int { input.reduce(1, *) }
  var kernelCount: Int { kernel.reduce(1, *) }

  /// Whether the window reads each input position once, in order (1×1, stride 1, no pads).
  var isPointwise: Bool {
    kernel.allSatisfy { $0 == 1 } && strides.allSatisfy { $0 == 1 } && padBegin.allSatisfy { $0 == 0 }
      && padEnd.allSatisfy { $0 == 0 }
  }
}
