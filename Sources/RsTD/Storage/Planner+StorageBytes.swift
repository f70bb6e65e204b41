import ONNX

extension Planner {
  /// What one weight parameter of `site` weighs for `--ratio`: (1, 1) under `--weights fp32`, so
  /// the budget counts parameters as it always did; otherwise bytes, the original's element
  /// width against the stored one (int8 scales, one float per channel, are not counted).
  func storageBytes(_ site: ConvSite) -> (original: Int, stored: Int) {
    guard options.weights != .fp32 else { return (1, 1) }
    let width: Int
    switch site.elementType {
    case .float: width = 4
    case .float16, .bfloat16: width = 2
    case .double: width = 8
    }
    let storage = SiteStorage(options, weight: site.weightName, elementType: site.elementType, opset: opset).storage
    return (width, storage == .fp32 ? width : storage.bytesPerParameter)
  }
}
