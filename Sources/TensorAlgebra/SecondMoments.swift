import CLAPACK

/// Running mean and covariance of vectors of one dimension, in `Double`, in O(dim²) memory
/// however many vectors are added: how calibration keeps per-layer statistics bounded.
public struct SecondMoments: Sendable, Equatable {
  public let dimension: Int
  /// Number of vectors added.
  public private(set) var count = 0
  private var sum: [Double]
  /// Σ v vᵀ, upper triangle (row-major).
  private var gram: [Double]

  public init(dimension: Int) {
    precondition(dimension >= 1)
    self.dimension = dimension
    sum = Array(repeating: 0, count: dimension)
    gram = Array(repeating: 0, count: dimension * dimension)
  }

  /// Adds the `columns` vectors stored as the columns of the row-major `[dimension, columns]`
  /// block starting at `values[offset]` (a conv output `[M, H·W]` for one image).
  public mutating func addColumns(_ values: [Float], offset: Int = 0, columns: Int) {
    precondition(columns >= 0 && offset >= 0 && offset + dimension * columns <= values.count)
    guard columns > 0 else { return }
    let block = (0..<(dimension * columns)).map { Double(values[offset + $0]) }
    for i in 0..<dimension {
      var s = 0.0
      for j in 0..<columns { s += block[i * columns + j] }
      sum[i] += s
    }
    cblas_dsyrk(
      CblasRowMajor, CblasUpper, CblasNoTrans, blasint(dimension), blasint(columns), 1, block,
      blasint(columns), 1, &gram, blasint(dimension))
    count += columns
  }

  /// The mean vector (zeros before any vector).
  public var mean: [Double] { sum.map { count > 0 ? $0 / Double(count) : 0 } }

  /// The covariance `E[v vᵀ] − μ μᵀ`, row-major, both triangles filled.
  public var covariance: [Double] {
    let n = Double(max(count, 1))
    let mu = mean
    var c = [Double](repeating: 0, count: dimension * dimension)
    for i in 0..<dimension {
      for j in i..<dimension {
        let v = gram[i * dimension + j] / n - mu[i] * mu[j]
        c[i * dimension + j] = v
        c[j * dimension + i] = v
      }
    }
    return c
  }
}
