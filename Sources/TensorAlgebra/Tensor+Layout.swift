extension Tensor {
  /// The tensor with its axes permuted, with `numpy.transpose` semantics.
  ///
  /// Axis `k` of the result is axis `permutation[k]` of this tensor:
  /// `result[j₀, …, j_{d-1}] = self[i]` where `i[permutation[k]] = j_k`.
  ///
  /// - Parameter permutation: A permutation of `0..<order`.
  /// - Returns: A tensor of shape `permutation.map { shape[$0] }`.
  /// - Complexity: O(`count`).
  public func transposed(_ permutation: [Int]) -> Tensor {
    let d = shape.count
    precondition(
      permutation.count == d && Set(permutation) == Set(0..<d),
      "\(permutation) is not a permutation of 0..<\(d)")
    if permutation == Array(0..<d) { return self }
    if count <= 1 { return Tensor(shape: permutation.map { shape[$0] }, scalars: scalars) }
    var inStrides = [Int](repeating: 1, count: d)
    for k in stride(from: d - 2, through: 0, by: -1) { inStrides[k] = inStrides[k + 1] * shape[k + 1] }
    let outShape = permutation.map { shape[$0] }
    let strides = permutation.map { inStrides[$0] }
    var out = [Float](repeating: 0, count: count)
    let inner = outShape[d - 1]
    let innerStride = strides[d - 1]
    var index = [Int](repeating: 0, count: d)
    scalars.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        var o = 0
        var base = 0
        while o < dst.count {
          var s = base
          for _ in 0..<inner {
            dst[o] = src[s]
            o += 1
            s += innerStride
          }
          // Odometer over the outer axes.
          var k = d - 2
          while k >= 0 {
            index[k] += 1
            base += strides[k]
            if index[k] < outShape[k] { break }
            base -= strides[k] * outShape[k]
            index[k] = 0
            k -= 1
          }
          if k < 0 { break }
        }
      }
    }
    return Tensor(shape: outShape, scalars: out)
  }

  /// The mode-`mode` unfolding (matricisation).
  ///
  /// Row `i` holds every entry whose index along `mode` is `i`; the other modes keep their order,
  /// the last varying fastest (TensorLy's `unfold`).
  ///
  /// - Parameter mode: An axis in `0..<order`.
  /// - Returns: A 2-D tensor `[shape[mode], count / shape[mode]]`.
  /// - Complexity: O(`count`); O(1) for mode 0.
  public func unfolded(mode: Int) -> Tensor {
    precondition(mode >= 0 && mode < shape.count, "mode \(mode) outside 0..<\(shape.count)")
    let rows = shape[mode]
    let rest = rows == 0 ? 0 : count / rows
    let perm = [mode] + (0..<shape.count).filter { $0 != mode }
    return transposed(perm).reshaped([rows, rest])
  }

  /// The mode-`mode` product `self ×ₘ matrix`.
  ///
  /// `result[…, j, …] = Σᵢ matrix[j, i] · self[…, i, …]` with `i, j` at axis `mode`.
  ///
  /// - Parameters:
  ///   - matrix: A 2-D tensor `[J, shape[mode]]`.
  ///   - mode: An axis in `0..<order`.
  /// - Returns: A tensor of this shape with `shape[mode]` replaced by `J`.
  /// - Complexity: O(`count` · J), through `cblas_sgemm`.
  public func modeProduct(_ matrix: Tensor, mode: Int) -> Tensor {
    precondition(mode >= 0 && mode < shape.count, "mode \(mode) outside 0..<\(shape.count)")
    precondition(
      matrix.shape.count == 2 && matrix.shape[1] == shape[mode],
      "matrix \(matrix.shape) cannot multiply mode \(mode) of \(shape)")
    let j = matrix.shape[0]
    let i = shape[mode]
    let pre = shape[..<mode].reduce(1, *)
    let post = shape[(mode + 1)...].reduce(1, *)
    var outShape = shape
    outShape[mode] = j
    var out = [Float](repeating: 0, count: pre * j * post)
    if out.isEmpty { return Tensor(shape: outShape, scalars: out) }
    scalars.withUnsafeBufferPointer { x in
      matrix.scalars.withUnsafeBufferPointer { a in
        out.withUnsafeMutableBufferPointer { y in
          if post == 1 {
            // [pre, i] · aᵀ → [pre, j]
            sgemm(
              transposeA: false, transposeB: true, m: pre, n: j, k: i,
              a: x.baseAddress!, lda: i, b: a.baseAddress!, ldb: i, c: y.baseAddress!, ldc: j)
          } else {
            for p in 0..<pre {
              sgemm(
                transposeA: false, transposeB: false, m: j, n: post, k: i,
                a: a.baseAddress!, lda: i, b: x.baseAddress! + p * i * post, ldb: post,
                c: y.baseAddress! + p * j * post, ldc: post)
            }
          }
        }
      }
    }
    return Tensor(shape: outShape, scalars: out)
  }
}
