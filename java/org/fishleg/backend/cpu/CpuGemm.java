package org.fishleg.backend.cpu;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.fishleg.backend.Backend.Triangle;
import org.fishleg.backend.Tensor;

/**
 * Matrix products of the CPU backend (the twin of the CUDA backend's cuBLAS calls, CublasGemm): GEMM through
 * OpenBLAS {@code cblas_sgemm} on the tensors' native memory in place, split into blocks of C over the
 * Java pool (see {@link CpuBackend}), and the exactly symmetric Gram product l^T l. Arguments arrive
 * checked by {@link org.fishleg.backend.AbstractBackend}.
 */
final class CpuGemm {
    /** Products below this many flops (2 m n k) are not split: one OpenBLAS call on the caller's thread. */
    static final long SPLIT_MIN_FLOPS = 1L << 21;
    /** Row-block size of {@link #gram}; smaller factors use one GEMM. */
    private static final int GRAM_BLOCK = 96;

    private final CpuPool pool;
    private final CpuElementwise elementwise;
    /** True: GEMM blocks on the Java pool, OpenBLAS single-threaded. False: OpenBLAS's own threads. */
    private final boolean splitGemm;

    CpuGemm(CpuParallel par, CpuElementwise elementwise, boolean splitGemm) {
        this.pool = par.pool;
        this.elementwise = elementwise;
        this.splitGemm = splitGemm;
    }

    /** C (m x n, m, n &gt; 0) = alpha op(A) op(B) + beta C with inner dimension k. */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, CpuStorage sa, Tensor b, CpuStorage sb,
              float beta, Tensor c, CpuStorage sc) {
        if (k == 0 || alpha == 0f) {
            // C = beta * C (beta == 0: C's old contents, even NaN, are ignored)
            elementwise.scaleInPlace(c, sc, beta);
            return;
        }
        int lda = Math.max(1, a.cols()), ldb = Math.max(1, b.cols()), ldc = Math.max(1, c.cols());
        int ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans;
        long flops = 2L * m * n * k;
        int dim = Math.max(m, n);
        if (!splitGemm || pool.threads == 1 || flops < SPLIT_MIN_FLOPS || dim < 32) {
            openblas_nolapack.cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, new FloatPointer(sa.pointer).position(a.offset()), lda,
                    new FloatPointer(sb.pointer).position(b.offset()), ldb, beta, new FloatPointer(sc.pointer).position(c.offset()), ldc);
            return;
        }
        // Split C into row blocks (m >= n) or column blocks, each a single-threaded OpenBLAS call on a pool
        // thread. OpenBLAS's own threads busy-wait for ~0.1 s after every call and then fight the Java loops
        // that follow each GEMM in a training step for the cores (measured 1.5-2x slower; under load from
        // another process OpenBLAS's threaded GEMM itself collapses). See docs/BENCHMARKS.md, "CPU GEMM".
        boolean alongM = m >= n;
        int parts = Math.min(pool.threads, dim / 16);
        int per = ((dim + parts - 1) / parts + 15) & ~15;
        int nc = (dim + per - 1) / per;
        long aBase = a.offset(), bBase = b.offset(), cBase = c.offset();
        pool.run(nc, i -> {
            int lo = i * per, hi = Math.min(dim, lo + per);
            long ao = aBase, bo = bBase, co;
            int mm = m, nn = n;
            if (alongM) {           // rows lo..hi of op(A) and of C
                ao += transA ? lo : (long) lo * lda;
                co = cBase + (long) lo * ldc;
                mm = hi - lo;
            } else {                // columns lo..hi of op(B) and of C
                bo += transB ? (long) lo * ldb : lo;
                co = cBase + lo;
                nn = hi - lo;
            }
            openblas_nolapack.cblas_sgemm(CblasRowMajor, ta, tb, mm, nn, k, alpha, new FloatPointer(sa.pointer).position(ao), lda,
                    new FloatPointer(sb.pointer).position(bo), ldb, beta, new FloatPointer(sc.pointer).position(co), ldc);
        });
    }

    /**
     * p = l^T l by row blocks of p's upper triangle, P[r0:r1, r0:n] = L[K, r0:r1]^T L[K, r0:n], with K the
     * rows of l that can be non-zero there (all for FULL, [0, r1) for UPPER, [r0, n) for LOWER), each an
     * OpenBLAS call on a pool thread (one GEMM for small factors). The strict lower triangle is then
     * copied from the upper one, so p is exactly symmetric whatever OpenBLAS kernel computed it (a GEMM
     * need not give P[i][j] and P[j][i] the same rounding, e.g. the AVX2 kernels do not).
     */
    void gram(Tensor l, CpuStorage sl, Triangle shape, Tensor p, CpuStorage sp) {
        int n = l.rows();
        if (n < 2 * GRAM_BLOCK) {
            if (n > 0) gemm(true, false, n, n, n, 1f, l, sl, l, sl, 0f, p, sp);
        } else {
            int blocks = (n + GRAM_BLOCK - 1) / GRAM_BLOCK;
            long lo0 = l.offset(), po0 = p.offset();
            pool.run(blocks, bi -> {
                int r0 = bi * GRAM_BLOCK, r1 = Math.min(n, r0 + GRAM_BLOCK);
                int k0 = shape == Triangle.LOWER ? r0 : 0;
                int k1 = shape == Triangle.UPPER ? r1 : n;
                long a = lo0 + (long) k0 * n + r0; // L[k0.., r0..]
                openblas_nolapack.cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1 - r0, n - r0, k1 - k0, 1f,
                        new FloatPointer(sl.pointer).position(a), n, new FloatPointer(sl.pointer).position(a), n, 0f,
                        new FloatPointer(sp.pointer).position(po0 + (long) r0 * n + r0), n);
            });
        }
        elementwise.mirrorUpper(sp, p);
    }
}
