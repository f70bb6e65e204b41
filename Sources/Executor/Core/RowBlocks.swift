import CLAPACK

/// Row-major sgemm split into blocks of output rows fixed by the shapes, so that any number of
/// threads computes the same bits.
enum RowBlocks {
  /// Output rows per block.
  static let rowsPerBlock = 64

  /// C[m, n] = alpha · op(A) · op(B) + beta · C, with op a transpose when asked.
  static func gemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
  ) {
    let blocks = (m + rowsPerBlock - 1) / rowsPerBlock
    parallelFor(blocks, threads: threads) { block in
      let r0 = block * rowsPerBlock, rows = min(rowsPerBlock, m - r0)
      // Row r of op(A) starts at a + r·lda untransposed, at column r (a + r) transposed.
      let aBlock = transA ? a + r0 : a + r0 * lda
      cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, Int32(rows), Int32(n),
        Int32(k), alpha, aBlock, Int32(lda), b, Int32(ldb), beta, c + r0 * ldc, Int32(ldc))
    }
  }
}
