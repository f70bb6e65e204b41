/// Every factorized-layout format, by method: the one list a new format joins.
enum FormatRegistry {
  static let formats: [Method: any ConvFormat] = [
    .svd: SVDFormat(),
    .tucker2: Tucker2Format(),
    .cp: CPFormat(),
    .kron: KronFormat(),
    .spatial: SpatialFormat(),
  ]

  /// The format implementing `method`; `auto` reads as svd.
  static func format(for method: Method) -> any ConvFormat {
    guard let f = formats[method == .auto || method == .mixed ? .svd : method] else {
      preconditionFailure("method \(method.rawValue) has no format in FormatRegistry")
    }
    return f
  }
}
