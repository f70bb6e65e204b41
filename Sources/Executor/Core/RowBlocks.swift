import CLAPACK

/// Row-major sgemm split into blocks of output rows fixed by the shapes, so that any number of
/// threads computes the same bits. A product with a single row block (a classifier's
/// 1 × 2048 × 1000) is split into blocks of output columns instead, so it is not left to one thread.
enum RowBlocks {
  /// Output rows per block.
  static let rowsPerBlock = 64
  /// Output columns per block when there is one row block.
  static let columnsPerBlock = 128

  /// C[m, n] = alpha · op(A) · op(B) + beta · C, with op a transpose when asked.
  static func gemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
  ) {
    let blocks = (m + rowsPerBlock - 1) / rowsPerBlock
    if blocks == 1 && n >= 2 * columnsPerBlock {
      parallelFor((n + columnsPerBlock - 1) / columnsPerBlock, threads: threads) { block in
        let j0 = block * columnsPerBlock, cols = min(columnsPerBlock, n - j0)
        // Column j of op(B) starts at b + j untransposed, at row j (b + j·ldb) transposed.
        let bBlock = transB ? b + j0 * ldb : b + j0
        cblas_sgemm(
          CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, Int32(m), Int32(cols),
          Int32(k), alpha, a, Int32(lda), bBlock, Int32(ldb), beta, c + j0, Int32(ldc))
      }
      return
    }
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
