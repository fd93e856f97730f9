package org.fishleg.backend.cuda;

import jcuda.Pointer;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasFillMode;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasOperation;

/**
 * Row-major GEMM on column-major cuBLAS. A row-major r x c matrix with leading dimension c is,
 * read column-major, its transpose (c x r, ld c). So row-major C = op(A) op(B) is computed as the
 * column-major product C^T = op(B)^T op(A)^T: cublasSgemm(opB, opA, n, m, k, alpha, B, ldb = B.cols,
 * A, lda = A.cols, beta, C, ldc = C.cols), with the SAME transpose flags (op(B)^T of the
 * column-major view B^T is B^T when transB is false, (B^T)^T when true). alpha/beta are host
 * pointers (pointer mode host). Views are plain pointer offsets.
 */
final class CublasGemm {
    private CublasGemm() {}

    /**
     * C (m x n, row-major, ld cCols) = alpha op(A) op(B) + beta C; op(A) is m x k, op(B) is k x n;
     * aCols / bCols are the row-major widths of the stored A and B. Returns the cuBLAS status.
     */
    public static int sgemmRowMajor(cublasHandle handle, boolean transA, boolean transB, int m, int n, int k,
                                    float alpha, Pointer a, int aCols, Pointer b, int bCols,
                                    float beta, Pointer c, int cCols) {
        return JCublas2.cublasSgemm(handle,
                transB ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N,
                transA ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N,
                n, m, k,
                Pointer.to(new float[] {alpha}),
                b, Math.max(1, bCols),
                a, Math.max(1, aCols),
                Pointer.to(new float[] {beta}),
                c, Math.max(1, cCols));
    }

    /**
     * The upper triangle (i &lt;= j) of row-major P = L^T L for a square n x n row-major L (ld n); the strict
     * lower triangle of P is left untouched. Read column-major, L's buffer is A = L^T, so P = A A^T:
     * cublasSsyrk(trans = N, n, k = n, A, lda = n). Column-major P's LOWER triangle (i >= j, at i + j n)
     * is row-major P's upper triangle, hence fill mode LOWER. Returns the cuBLAS status.
     */
    public static int ssyrkGramUpperRowMajor(cublasHandle handle, int n, Pointer l, Pointer p) {
        return JCublas2.cublasSsyrk(handle, cublasFillMode.CUBLAS_FILL_MODE_LOWER, cublasOperation.CUBLAS_OP_N,
                n, n, Pointer.to(new float[] {1f}), l, Math.max(1, n), Pointer.to(new float[] {0f}), p, Math.max(1, n));
    }
}
