/// MaxPool and AveragePool over N-D windows (kernel_shape, strides, pads, auto_pad,
/// dilations, ceil_mode; count_include_pad for AveragePool), and MaxPool's optional Indices
/// output (flat row-major positions, storage_order 0 or 1).
struct Pool: Operator {
  let spatial: SpatialAttributes
  let kernel: [Int]
  let isMax: Bool
  let ceilMode: Bool
  let countIncludePad: Bool
  let columnMajorIndices: Bool

  /// Values read and written below which a pool runs on one thread (waking a second costs more).
  static let parallelValues = 1 << 15

  static func build(_ b: OpBuilder) throws -> Operator {
    let isMax = b.node.opType == "MaxPool"
    // AveragePool has dilations from opset 19 only.
    let spatial = try SpatialAttributes(b, dilations: isMax || b.opset >= 19)
    guard let kernel = spatial.kernelShape, kernel.allSatisfy({ $0 >= 1 }) else {
      throw b.invalid("kernel_shape must be given and positive")
    }
    let ceilMode = try b.int("ceil_mode", default: 0) != 0
    let countIncludePad = isMax ? false : try b.int("count_include_pad", default: 0) != 0
    let order = isMax ? try b.int("storage_order", default: 0) : 0
    return Pool(
      spatial: spatial, kernel: kernel, isMax: isMax, ceilMode: ceilMode, countIncludePad: countIncludePad,
      columnMajorIndices: order == 1)
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let xv = try inputs.required(0)
    // MaxPool also takes 8-bit integers: pooled exactly in Float, then converted back.
    let x: [Float]
    switch xv.storage {
    case .integers(let v) where isMax && [.int8, .uint8].contains(xv.elementType): x = v.map { Float($0) }
    default: x = try xv.requireFloats("X")
    }
    guard xv.shape.count >= 3 else { throw OpFailure("X \(xv.shape) must have at least 3 axes") }
    let g = try spatial.geometry(input: Array(xv.shape[2...]), kernel: kernel, ceilMode: ceilMode)
    let planes = xv.shape[0] * xv.shape[1], inSize = g.inputCount, outSize = g.outputCount, nd = g.input.count
    let inStrides = Axes.strides(g.input)
    var out = [Float](repeating: 0, count: planes * outSize)
    var indices = [Int64](repeating: 0, count: isMax ? planes * outSize : 0)
    var o = [Int](repeating: 0, count: nd), tap = [Int](repeating: 0, count: nd)
    // Per output position, once: the taps inside the input (row-major and column-major
    // offsets) and how many window cells lie within input + padding; then every plane reuses them.
    var first = [Int](), offsets = [Int](), columnMajor = [Int](), windowCells = [Int]()
    first.reserveCapacity(outSize + 1)
    for position in 0..<outSize {
      first.append(offsets.count)
      var rest = position
      for d in stride(from: nd - 1, through: 0, by: -1) { o[d] = rest % g.output[d]; rest /= g.output[d] }
      var cells = 0
      for k in 0..<g.kernelCount {
        var r = k
        for d in stride(from: nd - 1, through: 0, by: -1) { tap[d] = r % kernel[d]; r /= kernel[d] }
        var inside = true, inPaddedRange = true, offset = 0, cm = 0, cmStride = 1
        for d in 0..<nd {
          let i = o[d] * g.strides[d] - g.padBegin[d] + tap[d] * g.dilations[d]
          if i < 0 || i >= g.input[d] { inside = false }
          if i < -g.padBegin[d] || i >= g.input[d] + g.padEnd[d] { inPaddedRange = false }
          offset += i * inStrides[d]
          cm += i * cmStride
          cmStride *= g.input[d]
        }
        if inPaddedRange { cells += 1 }
        if inside { offsets.append(offset); columnMajor.append(cm) }
      }
      windowCells.append(cells)
    }
    first.append(offsets.count)
    // Planes are independent pieces (same bits for any thread count).
    x.withUnsafeBufferPointer { x in
      out.withUnsafeMutableBufferPointer { out in
        indices.withUnsafeMutableBufferPointer { indices in
          parallelFor(planes, threads: planes * (inSize + outSize) >= Self.parallelValues ? context.threads : 1) { plane in
            let base = plane * inSize
            for position in 0..<outSize {
              let taps = first[position]..<first[position + 1]
              if isMax {
                var best = -Float.infinity, at = taps.first ?? 0
                for t in taps where x[base + offsets[t]] > best { best = x[base + offsets[t]]; at = t }
                out[plane * outSize + position] = best
                let index = taps.isEmpty ? 0 : (columnMajorIndices ? columnMajor[at] : offsets[at])
                indices[plane * outSize + position] = Int64(base + index)
              } else {
                var sum: Float = 0
                for t in taps { sum += x[base + offsets[t]] }
                let divisor = countIncludePad ? windowCells[position] : taps.count
                out[plane * outSize + position] = divisor > 0 ? sum / Float(divisor) : 0
              }
            }
          }
        }
      }
    }
    let shape = Array(xv.shape[0..<2]) + g.output
    let storage: TensorValue.Storage = xv.floats == nil ? .integers(out.map { Int64($0) }) : .floats(out)
    var result = [xv.with(shape: shape, storage: storage)]
    if isMax { result.append(TensorValue(shape: shape, integers: indices)) }
    return result
  }
}
