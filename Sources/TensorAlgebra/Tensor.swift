#if canImport(Glibc)
import Glibc  // links libm: debug builds call sqrt() for squareRoot()
#endif

/// A dense, row-major tensor of `Float` scalars.
///
/// Storage is one contiguous array; the last axis varies fastest (C order, as numpy's default).
/// A tensor of order 0 has shape `[]` and one scalar.
public struct Tensor: Sendable, Equatable {
  /// The size of each axis.
  public var shape: [Int]
  /// The entries in row-major order; `scalars.count` is the product of `shape`.
  public var scalars: [Float]

  /// Creates a tensor from a shape and its row-major scalars.
  ///
  /// - Parameters:
  ///   - shape: The size of each axis; every size must be non-negative.
  ///   - scalars: The entries in row-major order.
  /// - Precondition: `scalars.count` equals the product of `shape`.
  public init(shape: [Int], scalars: [Float]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative size in shape \(shape)")
    precondition(
      scalars.count == shape.reduce(1, *),
      "shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
    self.shape = shape
    self.scalars = scalars
  }

  /// Creates a tensor of the given shape filled with zeros.
  ///
  /// - Parameter shape: The size of each axis.
  public init(zeros shape: [Int]) {
    self.init(shape: shape, scalars: [Float](repeating: 0, count: shape.reduce(1, *)))
  }

  /// The number of entries, the product of `shape`.
  public var count: Int { scalars.count }

  /// The number of axes.
  public var order: Int { shape.count }

  /// The same scalars under a new shape with the same number of entries.
  ///
  /// - Parameter shape: The new shape; its product must equal `count`.
  /// - Returns: A tensor sharing this tensor's row-major scalars.
  /// - Complexity: O(1) (copy-on-write storage).
  public func reshaped(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, scalars: scalars)
  }

  /// The Frobenius norm √(Σ x²), accumulated in `Double`.
  ///
  /// - Complexity: O(`count`).
  public var frobeniusNorm: Double {
    var sum = 0.0
    for x in scalars { let d = Double(x); sum += d * d }
    return sum.squareRoot()
  }
}
