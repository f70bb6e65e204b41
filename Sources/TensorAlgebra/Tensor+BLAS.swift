import CLAPACK

/// The matrix product of two 2-D tensors, through `cblas_sgemm`.
///
/// - Parameters:
///   - a: A 2-D tensor `[m, k]` (or `[k, m]` when `transposeA`).
///   - b: A 2-D tensor `[k, n]` (or `[n, k]` when `transposeB`).
///   - transposeA: Use `aᵀ` in place of `a`.
///   - transposeB: Use `bᵀ` in place of `b`.
/// - Returns: `op(a) · op(b)`, a 2-D tensor `[m, n]`.
/// - Complexity: O(m · n · k).
public func matmul(
  _ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false
) -> Tensor {
  precondition(a.shape.count == 2 && b.shape.count == 2, "matmul needs 2-D tensors, got \(a.shape) and \(b.shape)")
  let m = transposeA ? a.shape[1] : a.shape[0]
  let k = transposeA ? a.shape[0] : a.shape[1]
  let kb = transposeB ? b.shape[1] : b.shape[0]
  let n = transposeB ? b.shape[0] : b.shape[1]
  precondition(k == kb, "matmul inner sizes differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
  var out = [Float](repeating: 0, count: m * n)
  if m > 0 && n > 0 && k > 0 {
    a.scalars.withUnsafeBufferPointer { pa in
      b.scalars.withUnsafeBufferPointer { pb in
        out.withUnsafeMutableBufferPointer { pc in
          sgemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
            a: pa.baseAddress!, lda: a.shape[1], b: pb.baseAddress!, ldb: b.shape[1],
            c: pc.baseAddress!, ldc: n)
        }
      }
    }
  }
  return Tensor(shape: [m, n], scalars: out)
}

/// Row-major `c = op(a) · op(b)` (overwrites `c`).
func sgemm(
  transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
  a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float = 0
) {
  cblas_sgemm(
    CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
    blasint(m), blasint(n), blasint(k), 1, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
}

/// Row-major `c = op(a) · op(b)` in double precision (overwrites `c`).
func dgemm(
  transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
  a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
  c: UnsafeMutablePointer<Double>, ldc: Int
) {
  cblas_dgemm(
    CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
    blasint(m), blasint(n), blasint(k), 1, a, blasint(lda), b, blasint(ldb), 0, c, blasint(ldc))
}

/// LAPACKE's `lapack_int` (a macro Swift cannot import): 32-bit in Debian's LP64 build.
typealias LapackInt = Int32
