package org.fishleg.backend;

import org.bytedeco.openblas.global.openblas;

/**
 * Host-side inverse of a shifted symmetric positive definite matrix in double precision (LAPACK
 * {@code dpotrf} + {@code dpotri} of the OpenBLAS library the CPU backend already loads): the
 * implementation behind {@link Backend#spdInverse}. Matrices are row-major n x n; only the lower
 * triangle of the input is read (the caller's matrix is symmetric up to rounding, and reading one
 * triangle makes the result exactly symmetric).
 */
final class SpdInverse {
    private SpdInverse() {}

    /**
     * Returns (a + shift I)^-1 as a full symmetric row-major float matrix, or throws a
     * {@link BackendException} naming the leading minor that is not positive.
     */
    static float[] invert(String op, float[] a, int n, double shift) {
        double[] m = cholesky(op, a, n, shift);
        int info = openblas.LAPACKE_dpotri(openblas.LAPACK_ROW_MAJOR, (byte) 'L', n, m, n);
        if (info != 0) throw new BackendException(op + ": LAPACK dpotri failed (info " + info + ")");
        float[] out = new float[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                float v = (float) m[i * n + j];
                out[i * n + j] = v;
                out[j * n + i] = v;
            }
        }
        return out;
    }

    /**
     * Returns the lower-triangular L = C^-1, C the Cholesky factor of a + shift I = C C^T, so that
     * L^T L = (a + shift I)^-1 (row-major n x n, zeros above the diagonal); same checks and errors as
     * {@link #invert}.
     */
    static float[] inverseCholesky(String op, float[] a, int n, double shift) {
        double[] m = cholesky(op, a, n, shift);
        int info = openblas.LAPACKE_dtrtri(openblas.LAPACK_ROW_MAJOR, (byte) 'L', (byte) 'N', n, m, n);
        if (info != 0) throw new BackendException(op + ": LAPACK dtrtri failed (info " + info + ")");
        float[] out = new float[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) out[i * n + j] = (float) m[i * n + j];
        return out;
    }

    /** The lower Cholesky factor C of a + shift I = C C^T in double (row-major; the upper triangle is zero, never read). */
    private static double[] cholesky(String op, float[] a, int n, double shift) {
        double[] m = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double v = a[i * n + j];
                if (!Double.isFinite(v))
                    throw new BackendException(op + ": element (" + i + ", " + j + ") of the " + n + "x" + n + " matrix is " + v);
                m[i * n + j] = v;
            }
            m[i * n + i] += shift;
        }
        int info = openblas.LAPACKE_dpotrf(openblas.LAPACK_ROW_MAJOR, (byte) 'L', n, m, n);
        if (info > 0)
            throw new BackendException(op + ": the " + n + "x" + n + " matrix plus " + shift + " I is not positive definite (leading minor "
                    + info + ")");
        if (info < 0) throw new BackendException(op + ": LAPACK dpotrf rejected argument " + (-info));
        return m;
    }
}
