import Foundation
import Executor
import ONNX
import TensorAlgebra

/// Inputs made up from the graph's declared input shapes when the caller gives none.
///
/// Floating-point inputs get independent standard-normal values (Box–Muller on a seeded
/// SplitMix64, so the same seed gives the same bits). A dimension the file leaves open becomes
/// 1 on axis 0 (the batch) and 64 elsewhere, unless `OutputCheck.inputShapes` names it. Integer
/// and boolean inputs cannot be made up meaningfully (they are ids, shapes or masks): such a model
/// needs calibration inputs.
enum SyntheticInputs {
  /// Largest synthetic input, in elements (a hostile declared shape must not allocate gigabytes).
  static let maxElements = 1 << 24

  /// `count` input dictionaries for `names`, the inputs the executor expects.
  /// - Throws: `OutputCheckUnavailable` naming the input that cannot be made up.
  static func make(
    count: Int, names: [String], declared: [ValueInfo], overrides: [String: [Int]], seed: UInt64
  ) throws -> [[String: TensorValue]] {
    var shapes: [(String, [Int])] = []
    for name in names {
      let info = declared.first { $0.name == name }
      guard let type = info?.dataType, type.isFloatingPoint else {
        throw OutputCheckUnavailable(
          "input '\(name)' has type \(info?.dataType?.name ?? "unknown"); only floating-point inputs can be made up (give calibration inputs)")
      }
      let shape: [Int]
      if let given = overrides[name] {
        shape = given
      } else if let dims = info?.shape {
        shape = dims.enumerated().map { axis, d in
          if case .fixed(let n) = d, n > 0 { return n }  // some exporters write -1 or 0 for open
          return axis == 0 ? 1 : 64
        }
      } else {
        throw OutputCheckUnavailable("input '\(name)' declares no shape (give --input-shape or calibration inputs)")
      }
      var elements = 1
      for d in shape {
        let (product, overflow) = elements.multipliedReportingOverflow(by: d)
        guard d >= 0, !overflow, product <= maxElements else {
          throw OutputCheckUnavailable("input '\(name)' of shape \(shape) is too large to run (over \(maxElements) elements)")
        }
        elements = product
      }
      shapes.append((name, shape))
    }
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in
      Dictionary(uniqueKeysWithValues: shapes.map { name, shape in
        (name, TensorValue(shape: shape, floats: normals(shape.reduce(1, *), using: &generator)))
      })
    }
  }

  /// `n` standard-normal floats.
  private static func normals(_ n: Int, using g: inout SplitMix64) -> [Float] {
    var out = [Float](repeating: 0, count: n)
    var i = 0
    while i < n {
      // Uniforms in (0, 1]: 53 random bits, never 0, so the logarithm is finite.
      let u1 = (Double(g.next() >> 11) + 1) / 9_007_199_254_740_992
      let u2 = Double(g.next() >> 11) / 9_007_199_254_740_992
      let r = (-2 * log(u1)).squareRoot()
      out[i] = Float(r * cos(2 * .pi * u2))
      if i + 1 < n { out[i + 1] = Float(r * sin(2 * .pi * u2)) }
      i += 2
    }
    return out
  }
}

/// Why the outputs could not be measured; the rewrite falls back to weight error alone.
struct OutputCheckUnavailable: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
