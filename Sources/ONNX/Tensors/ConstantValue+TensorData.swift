extension ConstantValue {
  /// The constant's values decoded with their declared type (integers and BOOL included).
  /// - Returns: the decoded tensor, named like the value.
  /// - Throws: `ONNXError` when the stored data is malformed or the type is not supported.
  public func data() throws -> TensorData {
    if let shared {
      // The graph's own values (a FLOAT initializer, shape checked when it was shared).
      return TensorData(name: name, elementType: .float, shape: tensor.shape, values: .floats(shared))
    }
    let decoded = try tensor.tensorData()
    return TensorData(name: name, elementType: decoded.elementType, shape: decoded.shape, values: decoded.values)
  }
}
