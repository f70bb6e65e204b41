import ONNX
import TensorAlgebra

/// A node whose weight is a constant the rewriter can decompose.
///
/// The site owns its kernel's orientation: Conv weights keep their ONNX layout `[M, C/g, k...]`;
/// Gemm and MatMul weights are read as `[N_out, K_in]` ("factor orientation"), so the svd format
/// treats them like a 1×1 convolution. `key` says which kernel that is, so two sites share factors
/// and initializers only when they factor the same numbers.
public struct ConvSite: Sendable {
  public enum Kind: String, Sendable, Codable { case conv = "Conv", gemm = "Gemm", matMul = "MatMul" }

  /// How the stored weight maps to the factor orientation.
  public enum Orientation: String, Sendable, Hashable {
    /// Stored as factored: Conv `[M, C/g, k...]`, Gemm with transB=1 `[N_out, K_in]`.
    case asStored
    /// Stored `[K_in, N_out]` (MatMul, Gemm with transB=0): transposed when read.
    case transposed
  }

  /// What identifies the numbers a site factors: two sites with equal keys factor the same kernel.
  public struct Key: Hashable, Sendable, CustomStringConvertible {
    public let weight: String
    public let orientation: Orientation
    public let group: Int
    public var description: String { "\(weight)|\(orientation.rawValue)|g\(group)" }
  }

  public let kind: Kind
  /// The node in the graph being rewritten.
  public let id: NodeID
  /// The original node.
  public let node: Node
  /// Name used in the report and as the stem of every new name.
  public let name: String
  public let weightName: String
  public let biasName: String?
  /// `[M, C/g, k...]` for Conv, `[N_out, K_in]` for Gemm/MatMul (factor orientation).
  public let weightShape: [Int]
  public let orientation: Orientation
  public let group: Int
  public let elementType: ElementType
  public let weightSource: ConstantValue.Source

  /// The kernel's identity for factor sharing.
  public var key: Key { Key(weight: weightName, orientation: orientation, group: group) }

  /// Output channels M.
  public var outputChannels: Int { weightShape[0] }
  /// Input channels per group, C/g.
  public var inputChannelsPerGroup: Int { weightShape[1] }
  /// Kernel spatial sizes (empty for Gemm/MatMul).
  public var kernelSize: [Int] { Array(weightShape.dropFirst(2)) }
  /// Number of kernel taps k1·k2·… (SiteFinder checked that the weight's size fits in an Int).
  public var kernelArea: Int { kernelSize.reduce(1, *) }
  /// Weight parameters.
  public var parameterCount: Int { weightShape.reduce(1, *) }
  /// Multiply-adds per output position: M · C/g · k1·k2·….
  public var multiplyAdds: Int { parameterCount }
  /// Strides (1 for Gemm/MatMul).
  public var strides: [Int] { node.ints("strides") ?? kernelSize.map { _ in 1 } }

  /// The weight as a float tensor shaped `weightShape`, in factor orientation.
  /// - Throws: `ONNXError` when the stored data does not match its dims or type.
  public func kernel(in graph: Graph) throws -> Tensor {
    guard let c = try graph.constant(weightName) else {
      preconditionFailure("site '\(name)' was found with a constant weight that is gone")
    }
    let stored = Tensor(shape: c.shape, scalars: try c.floats())
    return orientation == .transposed ? stored.transposed([1, 0]) : stored
  }
}
