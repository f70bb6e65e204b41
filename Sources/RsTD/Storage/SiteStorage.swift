import Foundation
import ONNX

/// The storage a site's weights actually get under `--weights`, and why it differs from the one
/// asked for: only FLOAT weights are re-stored (a FLOAT16 model already is; other types are left
/// as they are), and only at an opset whose Cast/Mul rebuild them.
struct SiteStorage: Equatable {
  let storage: WeightStorage
  /// Why `storage` is fp32 although something else was asked for; nil otherwise.
  let reason: String?

  /// The storage of weight `name` under `options` (`weights`, less what the storage allocation
  /// kept in float32).
  init(_ options: RewriteOptions, weight name: String, elementType: ElementType, opset: Int) {
    if options.weights != .fp32, let moved = options.storageKept[name] {
      self.init(kept: options.storageKeptEstimated
        ? "kept: its \(options.weights.rawValue) storage, probed in a group of weights, moved the outputs by an estimated \(Self.format(moved))"
        : "kept: its \(options.weights.rawValue) storage alone moved the outputs by \(Self.format(moved))")
    } else {
      self.init(asked: options.weights, elementType: elementType, opset: opset)
    }
  }

  private init(kept why: String) {
    (storage, reason) = (.fp32, why)
  }

  private static func format(_ e: Double) -> String { String(format: "%.2g", e) }

  init(asked: WeightStorage, elementType: ElementType, opset: Int) {
    if asked == .fp32 {
      (storage, reason) = (.fp32, nil)
    } else if elementType != .float {
      (storage, reason) = (.fp32, "weights are \(elementType.rawValue), stored as they are")
    } else if opset < asked.minimumOpset {
      (storage, reason) = (.fp32, "\(asked.rawValue) storage needs opset \(asked.minimumOpset); the model imports opset \(opset)")
    } else {
      (storage, reason) = (asked, nil)
    }
  }

  /// What the report's `weights` column says for a chain whose weights are described by `notes`.
  func description(_ notes: [String]) -> String {
    if let reason { return "fp32 (\(reason))" }
    if storage == .fp32 { return "fp32" }
    return storage.rawValue + (notes.isEmpty ? "" : " (" + notes.joined(separator: ", ") + ")")
  }
}
