import ONNX

// The weight quantizer: a float tensor in its stored layout → the values the file holds, and the
// float values onnxruntime rebuilds from them at load (`dequantized`).
//
// int8 is symmetric per channel along one axis: scale_c = max|w_c| / 127 (1 for an all-zero
// channel, so no division by zero and the channel stays exactly zero), q = round(w / scale_c)
// in [-127, 127]. The rebuild `Cast(int8→float) · scale_c` is one float multiplication, the same
// one `dequantized` does, so the folded weight equals `dequantized` bit for bit. Every axis is
// tried; the one with the least squared error wins (ties: the lower axis).

/// A weight as stored under a `WeightStorage`, with the floats the graph rebuilds from it.
struct QuantizedWeight: Equatable {
  enum Encoding: Equatable {
    /// FLOAT16 bits, rebuilt by Cast.
    case float16
    /// INT8 values and one scale per index of `axis`, rebuilt by Cast → Mul.
    case int8(values: [Int8], scales: [Float], axis: Int)
  }

  let encoding: Encoding
  /// The floats the rebuild produces, in the stored layout.
  let dequantized: [Float]
  /// Σ (w − ŵ)², for combining errors.
  let squaredError: Double

  /// The stored form of `values` (shape `shape`) in FLOAT16, or nil when a value does not fit
  /// (|w| ≥ 65520 rounds to infinity), in which case the weight stays float32.
  static func float16(_ values: [Float]) -> QuantizedWeight? {
    guard values.allSatisfy(HalfPrecision.fitsFloat16) else { return nil }
    let back = values.map { HalfPrecision.float(float16Bits: HalfPrecision.float16Bits($0)) }
    return QuantizedWeight(encoding: .float16, dequantized: back, squaredError: squaredDistance(values, back))
  }

  /// The stored form of `values` in INT8 with per-channel scales along `axis` of `shape`.
  /// - Precondition: `values.count == shape.reduce(1, *)`, `0 <= axis < shape.count`, values finite.
  static func int8(_ values: [Float], shape: [Int], axis: Int) -> QuantizedWeight {
    precondition(values.count == shape.reduce(1, *) && shape.indices.contains(axis))
    let channels = shape[axis]
    let inner = shape[(axis + 1)...].reduce(1, *)
    func channel(_ i: Int) -> Int { (i / inner) % channels }
    var peak = [Float](repeating: 0, count: channels)
    for (i, v) in values.enumerated() { peak[channel(i)] = max(peak[channel(i)], abs(v)) }
    let scales = peak.map { $0 > 0 ? $0 / 127 : 1 }
    var q = [Int8](repeating: 0, count: values.count)
    var back = [Float](repeating: 0, count: values.count)
    for (i, v) in values.enumerated() {
      let s = scales[channel(i)]
      let r = Int8(max(-127, min(127, (v / s).rounded(.toNearestOrEven))))
      q[i] = r
      back[i] = Float(r) * s
    }
    return QuantizedWeight(
      encoding: .int8(values: q, scales: scales, axis: axis), dequantized: back, squaredError: squaredDistance(values, back))
  }

  /// The INT8 form along the axis with the least error.
  static func int8(_ values: [Float], shape: [Int]) -> QuantizedWeight {
    var best: QuantizedWeight? = nil
    for axis in shape.indices {
      let q = int8(values, shape: shape, axis: axis)
      if best == nil || q.squaredError < best!.squaredError { best = q }
    }
    return best!
  }

  /// The axis of the int8 scales, nil for fp16.
  var axis: Int? {
    switch encoding {
    case .float16: nil
    case .int8(_, _, let a): a
    }
  }

  /// What the report says of the weight `name` stored this way ("svd_right int8 axis 0").
  func note(_ name: String) -> String {
    switch encoding {
    case .float16: "\(name) fp16"
    case .int8(_, _, let a): "\(name) int8 axis \(a)"
    }
  }
}

/// Σ (aᵢ − bᵢ)² in Double.
func squaredDistance(_ a: [Float], _ b: [Float]) -> Double {
  zip(a, b).reduce(0.0) { acc, p in let d = Double(p.0) - Double(p.1); return acc + d * d }
}
