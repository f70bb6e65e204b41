import Executor
import Foundation
import NumPyIO
import ONNX

/// `--calibration PATH`: one .npz (one array per model input, samples stacked on axis 0) or a
/// folder of such files (each one batch, read in name order, for inputs whose other dims vary).
/// Every file is checked against the model's declared inputs (`ModelInputs.load`), then cut
/// into single samples along axis 0, so the check runs one sample at a time in bounded memory.
enum CalibrationInputs {
  /// At most `samples` single-sample input sets from `path`, in file order.
  /// - Throws: `NumPyIOError` for an unreadable file, `InputError` for arrays that do not fit
  ///   the model or disagree on their number of samples, `CalibrationError` for an empty set or
  ///   non-finite values.
  static func load(path: String, model: Model, samples: Int) throws -> [[String: TensorValue]] {
    try load(path: path, model: model, samples: samples, after: 0)
  }

  /// The `samples` single-sample input sets that follow the first `skip` (`--holdout-samples`).
  /// - Throws: as `load(path:model:samples:)`, and `CalibrationError.tooFewForHoldout` when the
  ///   files hold fewer than `skip + samples`.
  static func heldOut(path: String, model: Model, samples: Int, after skip: Int) throws -> [[String: TensorValue]] {
    let sets = try load(path: path, model: model, samples: samples, after: skip)
    guard sets.count == samples else {
      throw CalibrationError.tooFewForHoldout(path: path, found: skip + sets.count, fitted: skip, heldOut: samples)
    }
    return sets
  }

  private static func load(path: String, model: Model, samples: Int, after skip: Int) throws -> [[String: TensorValue]] {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
      throw NumPyIOError.fileNotFound(path: path)
    }
    let files = isFolder.boolValue
      ? try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".npz") }.sorted()
        .map { (path as NSString).appendingPathComponent($0) }
      : [path]
    let inputs = ModelInputs(model: model)
    var sets: [[String: TensorValue]] = []
    var skipped = 0
    for file in files where sets.count < samples {
      var cut = try split(inputs.load(npz: file), file: file)[...]
      let drop = min(skip - skipped, cut.count)
      (skipped, cut) = (skipped + drop, cut.dropFirst(drop))
      sets += cut.prefix(samples - sets.count)
    }
    guard skipped + sets.count > 0 else { throw CalibrationError.empty(path: path) }
    return sets
  }

  /// The batch cut along axis 0 into single samples; all inputs must hold the same number.
  private static func split(_ batch: [String: TensorValue], file: String) throws -> [[String: TensorValue]] {
    let names = batch.keys.sorted()
    guard !names.isEmpty else { return [] }
    let counts = Set(names.map { batch[$0]!.shape.first ?? 1 })
    guard counts.count == 1, let n = counts.first, batch.values.allSatisfy({ !$0.shape.isEmpty }) else {
      throw CalibrationError.unevenSamples(file: file, names: names, counts: names.map { batch[$0]!.shape.first ?? 0 })
    }
    // A NaN or infinity would poison every statistic and make the measured error meaningless.
    for name in names {
      guard case .floats(let f) = batch[name]!.storage, let bad = f.firstIndex(where: { !$0.isFinite }) else { continue }
      let size = max(batch[name]!.shape.dropFirst().reduce(1, *), 1)
      throw CalibrationError.nonFinite(file: file, input: name, sample: bad / size, count: f.count(where: { !$0.isFinite }))
    }
    return (0..<n).map { i in
      var sample: [String: TensorValue] = [:]
      for name in names {
        let v = batch[name]!
        let size = v.shape.dropFirst().reduce(1, *)
        let shape = [1] + v.shape.dropFirst()
        let range = (i * size)..<((i + 1) * size)
        switch v.storage {
        case .floats(let f): sample[name] = TensorValue(elementType: v.elementType, shape: shape, storage: .floats(Array(f[range])))
        case .integers(let x): sample[name] = TensorValue(elementType: v.elementType, shape: shape, storage: .integers(Array(x[range])))
        case .bools(let b): sample[name] = TensorValue(elementType: v.elementType, shape: shape, storage: .bools(Array(b[range])))
        }
      }
      return sample
    }
  }
}

/// Calibration data that cannot be used as given.
enum CalibrationError: Error, CustomStringConvertible {
  case empty(path: String)
  case unevenSamples(file: String, names: [String], counts: [Int])
  case tooFewForHoldout(path: String, found: Int, fitted: Int, heldOut: Int)
  case nonFinite(file: String, input: String, sample: Int, count: Int)

  var description: String {
    switch self {
    case .empty(let path): "'\(path)' holds no calibration samples (a folder needs .npz files)."
    case .unevenSamples(let file, let names, let counts):
      "the inputs in '\(file)' hold different numbers of samples on axis 0 (\(zip(names, counts).map { "\($0): \($1)" }.joined(separator: ", ")))."
    case .tooFewForHoldout(let path, let found, let fitted, let heldOut):
      "'\(path)' holds \(found) calibration sample(s); --calibration-samples \(fitted) with --holdout-samples \(heldOut) needs \(fitted + heldOut)."
    case .nonFinite(let file, let input, let sample, let count):
      "input '\(input)' in '\(file)' holds \(count) NaN or infinite value(s), the first in sample \(sample); calibration data must be finite."
    }
  }
}
