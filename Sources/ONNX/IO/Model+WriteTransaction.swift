import Foundation

extension Model {
  /// Writes the model to `transaction`'s temporary files (nothing is in place until `commit`).
  /// - Parameters:
  ///   - transaction: holds the output path.
  ///   - externalData: where tensor bytes go.
  /// - Returns: the bytes the model and its side file will take.
  /// - Throws: `ONNXError.writeFailed`.
  @discardableResult
  public func stage(in transaction: WriteTransaction, externalData: ExternalDataPolicy = .automatic) throws -> Int {
    var assembled = proto
    // Most nodes are encoded straight from the graph as they are written (`NodeStream`).
    let (g, nodes) = graph.writableParts()
    assembled.graph = g
    return try transaction.stageModel(
      consume assembled, nodes: nodes, externalData: externalData, inlineLimitBytes: ExternalDataPolicy.protobufLimitBytes)
  }
}
