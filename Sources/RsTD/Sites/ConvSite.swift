import ONNX

/// A node whose weight is a constant the rewriter can decompose.
///
/// Conv weights keep their ONNX layout `[M, C/g, k...]`. Gemm and MatMul weights are normalised
/// to `[N_out, K_in]` so the svd format treats them like a 1×1 convolution.
public struct ConvSite: Sendable {
  public enum Kind: String, Sendable, Codable { case conv = "Conv", gemm = "Gemm", matMul = "MatMul" }

  public let kind: Kind
  /// The original node; its first output identifies it across edits.
  public let node: Node
  /// Name used in the report and as the stem of every new name.
  public let name: String
  public let weightName: String
  public let biasName: String?
  /// `[M, C/g, k...]` for Conv, `[N_out, K_in]` for Gemm/MatMul.
  public let weightShape: [Int]
  public let group: Int
  public let elementType: ElementType
  public let weightSource: ConstantValue.Source

  /// Output channels M.
  public var outputChannels: Int { weightShape[0] }
  /// Input channels per group, C/g.
  public var inputChannelsPerGroup: Int { weightShape[1] }
  /// Kernel spatial sizes (empty for Gemm/MatMul).
  public var kernelSize: [Int] { Array(weightShape.dropFirst(2)) }
  /// Number of kernel taps k1·k2·….
  public var kernelArea: Int { kernelSize.reduce(1, *) }
  /// Weight parameters.
  public var parameterCount: Int { weightShape.reduce(1, *) }
  /// Multiply-adds per output position: M · C/g · k1·k2·….
  public var multiplyAdds: Int { parameterCount }
  /// Strides (1 for Gemm/MatMul).
  public var strides: [Int] { node.ints("strides") ?? kernelSize.map { _ in 1 } }
}
