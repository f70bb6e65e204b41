import Foundation
import Executor
import ONNX
import TensorAlgebra

/// Inputs made up from the graph's declared input shapes when the caller gives none.
///
/// Floating-point inputs get independent standard-normal values (`SplitMix64.nextStandardNormal`,
/// set k seeded by seed + k: the same draws as `onnx-rstd verify --random N --seed S`). A dimension the file leaves open becomes
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
    make(count: count, shapes: try self.shapes(names: names, declared: declared, overrides: overrides).shapes, seed: seed)
  }

  /// `count` input dictionaries of the given shapes (`shapes(names:declared:overrides:)`).
  static func make(count: Int, shapes: [(String, [Int])], seed: UInt64) -> [[String: TensorValue]] {
    // Set k from seed + k, as `onnx-rstd verify --random N --seed S` draws them.
    return (0..<count).map { k in
      var generator = SplitMix64(seed: seed &+ UInt64(k))
      return Dictionary(uniqueKeysWithValues: shapes.map { name, shape in
        (name, TensorValue(shape: shape, floats: (0..<shape.reduce(1, *)).map { _ in generator.nextStandardNormal() }))
      })
    }
  }

  /// The shape of each synthetic input, and the sizes made up (`guessed`: the input and axis of
  /// each dimension the file leaves open and `overrides` does not name): only when there are any
  /// may a run that fails be the guess's fault.
  static func shapes(
    names: [String], declared: [ValueInfo], overrides: [String: [Int]]
  ) throws -> (shapes: [(String, [Int])], guessed: [(input: String, axis: Int)]) {
    var shapes: [(String, [Int])] = []
    var guessed: [(input: String, axis: Int)] = []
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
          guessed.append((name, axis))
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
    return (shapes, guessed)
  }
}

/// Why the outputs could not be measured; the rewrite falls back to weight error alone.
struct OutputCheckUnavailable: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
