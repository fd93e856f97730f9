package org.fishleg.backend;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Backend#spdInverse} on every backend of {@link TestBackends}: random symmetric positive
 * semi-definite matrices (X^T X / m, some rank-deficient so only the shift makes them definite) against
 * the identity (A + shift I) out = I checked in double on the host, output poisoned with NaN first;
 * exact symmetry; in-place use; refusals that leave the output untouched.
 */
class SpdInverseTest {

    static float[] randomGram(Random r, int n, int m) {
        double[] x = new double[m * n];
        for (int i = 0; i < x.length; i++) x[i] = r.nextGaussian();
        float[] a = new float[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < m; k++) s += x[k * n + i] * x[k * n + j];
                a[i * n + j] = (float) (s / m);
            }
        return a;
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void invertsShiftedGramMatrices(Backend b) {
        Random r = new Random(5);
        int[][] cases = {{1, 3}, {2, 1}, {7, 20}, {37, 12}, {130, 400}, {300, 100}}; // {n, rows of X}: m < n is rank-deficient
        float[] shifts = {0.5f, 1e-2f, 0.1f, 1f, 1e-3f, 0.3f};
        for (int c = 0; c < cases.length; c++) {
            int n = cases[c][0];
            float shift = shifts[c];
            float[] a = randomGram(r, n, cases[c][1]);
            try (Tensor ta = b.upload(a, n, n); Tensor out = b.zeros(n, n)) {
                b.fill(out, Float.NaN);
                b.spdInverse(ta, shift, out);
                float[] inv = b.download(out);
                double worst = 0;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++) {
                        assertEquals(inv[i * n + j], inv[j * n + i], 0f, "not symmetric at " + i + "," + j);
                        double s = 0;
                        for (int k = 0; k < n; k++) s += (a[i * n + k] + (i == k ? shift : 0)) * (double) inv[k * n + j];
                        worst = Math.max(worst, Math.abs(s - (i == j ? 1 : 0)));
                    }
                // float32 rounding of the inverse: error grows with the condition number (<= 1 + max eig / shift)
                double tol = 1e-6 * n * (1 + maxAbsRowSum(a, n) / shift);
                assertTrue(worst <= tol, b.name() + " n=" + n + " shift=" + shift + ": |(A + sI) inv - I| = " + worst + " > " + tol);
                assertArrayEquals(a, b.download(ta), "input changed");
            }
        }
    }

    /** spdInverseFactor: L lower triangular with L^T L (A + sI) = I, checked in double; refused like spdInverse. */
    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void inverseFactorIsLowerTriangularWithGramEqualToTheInverse(Backend b) {
        Random r = new Random(15);
        int[][] cases = {{1, 3}, {2, 1}, {7, 20}, {37, 12}, {130, 400}};
        float[] shifts = {0.5f, 1e-2f, 0.1f, 1f, 1e-3f};
        for (int c = 0; c < cases.length; c++) {
            int n = cases[c][0];
            float shift = shifts[c];
            float[] a = randomGram(r, n, cases[c][1]);
            try (Tensor ta = b.upload(a, n, n); Tensor out = b.zeros(n, n)) {
                b.fill(out, Float.NaN);
                b.spdInverseFactor(ta, shift, out);
                float[] l = b.download(out);
                for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) assertEquals(0f, l[i * n + j], "above the diagonal at " + i + "," + j);
                // M = L^T L, then |M (A + sI) - I|
                double[] m = new double[n * n];
                for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int k = 0; k < n; k++) s += (double) l[k * n + i] * l[k * n + j];
                    m[i * n + j] = s;
                }
                double worst = 0;
                for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int k = 0; k < n; k++) s += m[i * n + k] * (a[k * n + j] + (k == j ? shift : 0));
                    worst = Math.max(worst, Math.abs(s - (i == j ? 1 : 0)));
                }
                double tol = 1e-6 * n * (1 + maxAbsRowSum(a, n) / shift);
                assertTrue(worst <= tol, b.name() + " n=" + n + " shift=" + shift + ": |L^T L (A + sI) - I| = " + worst + " > " + tol);
            }
        }
        float[] neg = randomGram(r, 6, 3);
        for (int i = 0; i < 6; i++) neg[i * 6 + i] -= 10f;
        try (Tensor tn = b.upload(neg, 6, 6); Tensor out = b.zeros(6, 6)) {
            b.fill(out, 7f);
            BackendException e = assertThrows(BackendException.class, () -> b.spdInverseFactor(tn, 1e-3f, out));
            assertTrue(e.getMessage().contains("not positive definite"), e.getMessage());
            assertEquals(7f, b.download(out)[0]);
            assertThrows(BackendException.class, () -> b.spdInverseFactor(tn, -1f, out));
        }
    }

    static double maxAbsRowSum(float[] a, int n) {
        double m = 0;
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < n; j++) s += Math.abs(a[i * n + j]);
            m = Math.max(m, s);
        }
        return m;
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void inPlaceMatchesOutOfPlace(Backend b) {
        float[] a = randomGram(new Random(9), 24, 40);
        try (Tensor x = b.upload(a, 24, 24); Tensor out = b.zeros(24, 24)) {
            b.spdInverse(x, 0.2f, out);
            b.spdInverse(x, 0.2f, x);
            assertArrayEquals(b.download(out), b.download(x));
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void refusesWhatItCannotInvert(Backend b) {
        float[] a = randomGram(new Random(2), 6, 3);   // rank 3: singular without a shift
        float[] neg = a.clone();
        for (int i = 0; i < 6; i++) neg[i * 6 + i] -= 10f; // indefinite
        try (Tensor ta = b.upload(a, 6, 6); Tensor tn = b.upload(neg, 6, 6); Tensor out = b.zeros(6, 6); Tensor rect = b.zeros(6, 5)) {
            b.fill(out, 7f);
            BackendException e = assertThrows(BackendException.class, () -> b.spdInverse(tn, 1e-3f, out));
            assertTrue(e.getMessage().contains("not positive definite"), e.getMessage());
            float[] sevens = new float[36];
            Arrays.fill(sevens, 7f);
            assertArrayEquals(sevens, b.download(out), "output written by a refused inverse");
            assertThrows(BackendException.class, () -> b.spdInverse(ta, -1f, out));
            assertThrows(BackendException.class, () -> b.spdInverse(ta, Float.NaN, out));
            assertThrows(BackendException.class, () -> b.spdInverse(rect, 1f, rect));
            float[] bad = a.clone();
            bad[7] = Float.NaN;
            b.upload(bad, ta);
            BackendException nan = assertThrows(BackendException.class, () -> b.spdInverse(ta, 1f, out));
            assertTrue(nan.getMessage().contains("NaN"), nan.getMessage());
        }
    }
}
