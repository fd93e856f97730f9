package org.fishleg.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.fishleg.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every operation of {@link Backend}, on every backend of {@link TestBackends}, against double-precision
 * references computed here on the host.
 *
 * <p>Inputs are random (seeded), never zero, with both signs; likelihood targets are valid (0/1 for
 * Bernoulli, one-hot rows for softmax, real values for Gaussian). Outputs that an op overwrites are
 * filled with NaN first, so an op that forgets to write an element fails.
 *
 * <p>Tolerances (float32 results against double references):
 * <ul>
 *   <li>elementwise ops: |got - ref| <= {@value #EW_RTOL} |ref| + {@value #EW_ATOL} (inputs are O(1));</li>
 *   <li>GEMM: |got - ref| <= {@value #GEMM_TOL} sqrt(k + 1) (|alpha| sum_p |a_ip b_pj| + |beta c_ij|),
 *       i.e. about 16 float epsilons times sqrt(k), relative to the sum of magnitudes;</li>
 *   <li>reductions to a scalar: |got - ref| <= {@value #RED_RTOL} (sum of |terms|) + 1e-6;</li>
 *   <li>statistical checks: 5 standard errors of the estimate.</li>
 * </ul>
 * Sizes include 1, odd sizes and tensors above the CPU backend's 32768-element parallel threshold.
 */
class BackendOpsTest {

    static final double EW_RTOL = 1e-5, EW_ATOL = 1e-6;
    static final double GEMM_TOL = 1e-6;
    static final double RED_RTOL = 1e-5;

    /** Shapes used by the elementwise tests: a scalar, an odd small matrix, one above the parallel threshold. */
    static final int[][] SHAPES = {{1, 1}, {7, 33}, {181, 211}};

    // ============================================================================== helpers

    /** Closes the tensors made in a test. */
    static final class Scope implements AutoCloseable {
        final Backend b;
        final List<Tensor> ts = new ArrayList<>();
        Scope(Backend b) { this.b = b; }
        Tensor keep(Tensor t) { ts.add(t); return t; }
        Tensor up(float[] a, int r, int c) { return keep(b.upload(a, r, c)); }
        Tensor zeros(int r, int c) { return keep(b.zeros(r, c)); }
        Tensor poison(int r, int c) { float[] a = new float[r * c]; Arrays.fill(a, Float.NaN); return up(a, r, c); }
        Tensor scalar(float v) { return up(new float[] {v}, 1, 1); }
        @Override public void close() { for (Tensor t : ts) t.close(); }
    }

    /** Uniform magnitude in [0.1, 2) with a random sign: never zero, both signs. */
    static float[] rnd(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            float m = 0.1f + 1.9f * r.nextFloat();
            a[i] = r.nextBoolean() ? m : -m;
        }
        return a;
    }

    static float[] rnd(Random r, int n, double scale) {
        float[] a = rnd(r, n);
        for (int i = 0; i < n; i++) a[i] *= (float) scale;
        return a;
    }

    static float[] nanArray(int n) { float[] a = new float[n]; Arrays.fill(a, Float.NaN); return a; }

    static void assertClose(String what, double[] exp, float[] got, double rtol, double atol) {
        assertEquals(exp.length, got.length, what + ": length");
        for (int i = 0; i < exp.length; i++) {
            double tol = rtol * Math.abs(exp[i]) + atol;
            if (!(Math.abs(got[i] - exp[i]) <= tol))
                fail(what + ": element " + i + " is " + got[i] + ", expected " + exp[i] + " (tolerance " + tol + ")");
        }
    }

    static void assertEw(String what, double[] exp, float[] got) { assertClose(what, exp, got, EW_RTOL, EW_ATOL); }

    static void assertScalar(String what, double exp, double absSum, float got) {
        double tol = RED_RTOL * absSum + 1e-6;
        if (!(Math.abs(got - exp) <= tol)) fail(what + ": got " + got + ", expected " + exp + " (tolerance " + tol + ")");
    }

    /** The op must throw BackendException whose message names the op and every given fragment (shapes). */
    static void assertShapeError(String op, Executable e, String... fragments) {
        BackendException ex = assertThrows(BackendException.class, e, op + " should reject the shapes");
        String m = ex.getMessage();
        assertTrue(m != null && m.contains(op), op + ": message should name the op: " + m);
        for (String f : fragments) assertTrue(m.contains(f), op + ": message should mention " + f + ": " + m);
    }

    static double[] toDouble(float[] a) { double[] d = new double[a.length]; for (int i = 0; i < a.length; i++) d[i] = a[i]; return d; }

    static double sigmoid(double a) { return Activation.SIGMOID.apply(a); }

    // ============================================================================== memory

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void zerosUploadDownloadReadScalar(Backend b) {
        try (Scope s = new Scope(b)) {
            Random r = new Random(1);
            Tensor junk = b.zeros(40, 50);
            b.fill(junk, 7f);
            junk.close();
            Tensor z = s.zeros(40, 50);
            float[] zz = b.download(z);
            for (float v : zz) assertEquals(0f, v, "zeros() must be zero-filled");
            float[] a = rnd(r, 7 * 33);
            Tensor t = s.up(a, 7, 33);
            assertEquals(7, t.rows());
            assertEquals(33, t.cols());
            assertArrayEquals(a, b.download(t));
            float[] big = new float[t.size() + 5];
            Arrays.fill(big, 42f);
            b.download(t, big);
            assertArrayEquals(a, Arrays.copyOf(big, t.size()));
            assertEquals(42f, big[t.size()], "download must not write past size");
            assertEquals(a[0], b.readScalar(t));
            assertEquals(a[3 * 33 + 4], b.readScalar(t.view(3 * 33 + 4, 1, 1)));
            float[] a2 = rnd(r, 7 * 33);
            b.upload(a2, t);
            assertArrayEquals(a2, b.download(t));
            // upload into a view leaves the neighbours alone
            Tensor flat = s.up(a, 1, a.length);
            float[] part = rnd(r, 10);
            b.upload(part, flat.view(5, 2, 5));
            float[] got = b.download(flat);
            for (int i = 0; i < a.length; i++) assertEquals(i >= 5 && i < 15 ? part[i - 5] : a[i], got[i], "upload into view, i=" + i);
            b.synchronize();
            Tensor empty = s.zeros(0, 5);
            assertEquals(0, b.download(empty).length);
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void copyAndFill(Backend b) {
        try (Scope s = new Scope(b)) {
            Random r = new Random(2);
            for (int[] sh : SHAPES) {
                int n = sh[0] * sh[1];
                float[] a = rnd(r, n);
                Tensor src = s.up(a, sh[0], sh[1]);
                Tensor dst = s.poison(sh[1], sh[0]); // same size, other shape
                b.copy(src, dst);
                assertArrayEquals(a, b.download(dst), "copy " + sh[0] + "x" + sh[1]);
                b.fill(dst, -2.5f);
                for (float v : b.download(dst)) assertEquals(-2.5f, v);
            }
            // copy between views of one buffer, overlapping (memmove semantics) and not
            float[] a = rnd(r, 100);
            Tensor flat = s.up(a, 1, 100);
            b.copy(flat.view(0, 1, 30), flat.view(60, 1, 30));
            float[] exp = a.clone();
            System.arraycopy(a, 0, exp, 60, 30);
            assertArrayEquals(exp, b.download(flat), "copy between views");
            b.copy(flat.view(10, 1, 40), flat.view(20, 1, 40));
            System.arraycopy(exp.clone(), 10, exp, 20, 40);
            assertArrayEquals(exp, b.download(flat), "overlapping copy");
            // fill a row range only
            Tensor m = s.up(a, 10, 10);
            b.fill(m.rowRange(3, 5), 9f);
            float[] got = b.download(m);
            for (int i = 0; i < 100; i++) assertEquals(i >= 30 && i < 50 ? 9f : a[i], got[i], "fill rowRange, i=" + i);
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void gramOfFullAndTriangularFactors(Backend b) {
        try (Scope s = new Scope(b)) {
            Random r = new Random(23);
            for (int n : new int[] {1, 7, 100, 193, 300}) {
                for (Backend.Triangle t : Backend.Triangle.values()) {
                    float[] l = rnd(r, n * n);
                    for (int i = 0; i < n; i++)
                        for (int j = 0; j < n; j++)
                            if ((t == Backend.Triangle.UPPER && j < i) || (t == Backend.Triangle.LOWER && j > i)) l[i * n + j] = 0f;
                    // a view at an offset inside a larger buffer, as FishLeg's factors are
                    float[] big = new float[n * n + 5];
                    System.arraycopy(l, 0, big, 5, n * n);
                    Tensor lt = s.up(big, 1, big.length).view(5, n, n);
                    Tensor p = s.poison(n, n);
                    b.gram(lt, t, p);
                    float[] got = b.download(p);
                    double maxErr = 0, scale = 1e-6;
                    for (int i = 0; i < n; i++)
                        for (int j = 0; j < n; j++) {
                            double v = 0;
                            for (int k = 0; k < n; k++) v += (double) l[k * n + i] * l[k * n + j];
                            scale = Math.max(scale, Math.abs(v));
                            maxErr = Math.max(maxErr, Math.abs(got[i * n + j] - v));
                            assertEquals(got[i * n + j], got[j * n + i], 0f, "gram must be exactly symmetric at " + i + "," + j);
                        }
                    assertTrue(maxErr <= 1e-6 * Math.sqrt(n) * scale * 4, "gram " + t + " n=" + n + ": max error " + maxErr + " (scale " + scale + ")");
                }
            }
            assertThrows(BackendException.class, () -> b.gram(s.poison(3, 4), Backend.Triangle.FULL, s.poison(4, 4)));
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void gatherRowsAndCopyIntoColumns(Backend b) {
        try (Scope s = new Scope(b)) {
            Random r = new Random(21);
            int n = 37, d = 13;
            float[] a = rnd(r, n * d);
            Tensor src = s.up(a, n, d);
            int[] perm = new int[n];
            for (int i = 0; i < n; i++) perm[i] = i;
            for (int i = n - 1; i > 0; i--) { int j = r.nextInt(i + 1); int t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
            Tensor dst = s.poison(9, d);
            b.gatherRows(src, perm, 5, dst);
            float[] got = b.download(dst);
            for (int j = 0; j < 9; j++)
                for (int c = 0; c < d; c++) assertEquals(a[perm[5 + j] * d + c], got[j * d + c], "gatherRows row " + j + " col " + c);
            assertThrows(BackendException.class, () -> b.gatherRows(src, perm, n - 3, dst), "index range past the end");
            assertThrows(BackendException.class, () -> b.gatherRows(src, perm, 0, s.poison(2, d + 1)), "column mismatch");
            // [1, h]: column block of a wider matrix, the other columns untouched
            float[] h = rnd(r, 6 * 4);
            float[] wide = rnd(r, 6 * 7);
            Tensor hw = s.up(wide, 6, 7);
            b.copyIntoColumns(s.up(h, 6, 4), hw, 2);
            float[] w2 = b.download(hw);
            for (int i = 0; i < 6; i++)
                for (int c = 0; c < 7; c++)
                    assertEquals(c >= 2 && c < 6 ? h[i * 4 + c - 2] : wide[i * 7 + c], w2[i * 7 + c], "copyIntoColumns " + i + "," + c);
            assertThrows(BackendException.class, () -> b.copyIntoColumns(s.up(h, 6, 4), hw, 4), "does not fit");
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void bytesInUseAndClosedTensors(Backend b) {
        long start = b.bytesInUse();
        Tensor t1 = b.zeros(10, 10);
        Tensor t2 = b.zeros(3, 7);
        Tensor v = t1.rowRange(2, 4);
        assertTrue(b.bytesInUse() >= start + 4L * (100 + 21), "bytesInUse should count live tensors");
        if (b.name().equals("cpu")) assertEquals(start + 4L * (100 + 21), b.bytesInUse(), "cpu counts exactly 4 bytes a float");
        v.close(); // closing a view frees nothing
        b.fill(t1, 1f);
        t1.close();
        t1.close(); // idempotent
        assertTrue(t1.isClosed());
        assertTrue(v.isClosed(), "a view of a closed owner is closed");
        t2.close();
        assertEquals(start, b.bytesInUse(), "bytesInUse must return to its starting value");
        assertThrows(BackendException.class, () -> b.fill(t1, 2f), "fill on a closed tensor");
        assertThrows(BackendException.class, () -> b.download(t1), "download of a closed tensor");
        assertThrows(BackendException.class, () -> b.readScalar(v), "readScalar of a view of a closed tensor");
        assertThrows(BackendException.class, () -> b.axpby(1f, t2, 1f, t2), "axpby on closed tensors");
        try (Scope s = new Scope(b)) {
            Tensor bm = s.zeros(10, 3), c = s.zeros(10, 3);
            assertThrows(BackendException.class, () -> b.gemm(false, false, 1f, t1, bm, 0f, c), "gemm with a closed input");
            Tensor a = s.zeros(3, 10), bm2 = s.zeros(10, 7);
            assertThrows(BackendException.class, () -> b.gemm(false, false, 1f, a, bm2, 0f, t2), "gemm with a closed output");
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void tensorsOfAnotherBackendAreRejected(Backend b) {
        try (CpuBackend other = new CpuBackend(); Scope s = new Scope(b)) {
            Tensor foreign = other.zeros(2, 2);
            Tensor mine = s.zeros(2, 2);
            assertThrows(BackendException.class, () -> b.fill(foreign, 1f));
            assertThrows(BackendException.class, () -> b.copy(foreign, mine));
            assertThrows(BackendException.class, () -> b.axpby(1f, foreign, 1f, mine));
            assertThrows(BackendException.class, () -> b.gemm(false, false, 1f, foreign, mine, 0f, s.zeros(2, 2)));
            assertThrows(BackendException.class, () -> b.download(foreign));
        }
    }

    @Test
    void cpuCloseFreesEveryOpenTensor() {
        CpuBackend b = new CpuBackend();
        Tensor t1 = b.zeros(100, 10);
        Tensor t2 = b.upload(new float[] {1, 2, 3}, 1, 3);
        Tensor view = t1.rowRange(1, 2);
        assertEquals(4L * 1003, b.bytesInUse());
        b.close();
        assertEquals(0, b.bytesInUse());
        assertTrue(t1.isClosed() && t2.isClosed() && view.isClosed());
        assertThrows(BackendException.class, () -> b.download(t2));
        assertThrows(BackendException.class, () -> b.zeros(1, 1), "a closed backend allocates nothing");
        b.close(); // idempotent
        assertTrue(b.description().contains("thread"), b.description());
    }

    @Test
    void cpuGemmRejectsAliasedOutput() {
        Backend b = TestBackends.cpu();
        try (Scope s = new Scope(b)) {
            Tensor a = s.zeros(4, 4);
            assertThrows(BackendException.class, () -> b.gemm(false, false, 1f, a, a, 0f, a));
            Tensor flat = s.zeros(1, 40);
            assertThrows(BackendException.class,
                    () -> b.gemm(false, false, 1f, flat.view(0, 4, 4), s.zeros(4, 4), 0f, flat.view(10, 4, 4)));
        }
    }

    // ============================================================================== GEMM

    /** Reference: alpha op(A) op(B) + beta C in double, and the error bound of each element. */
    static double[][] gemmRef(boolean ta, boolean tb, float alpha, float[] a, int ar, int ac, float[] bm, int br, int bc,
                              float beta, float[] c, int m, int n) {
        int k = ta ? ar : ac;
        double[] ref = new double[m * n], tol = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double sum = 0, mag = 0;
                for (int p = 0; p < k; p++) {
                    double x = ta ? a[p * ac + i] : a[i * ac + p];
                    double y = tb ? bm[j * bc + p] : bm[p * bc + j];
                    sum += x * y;
                    mag += Math.abs(x * y);
                }
                double cv = beta == 0f ? 0 : c[i * n + j];
                ref[i * n + j] = alpha * sum + beta * cv;
                tol[i * n + j] = GEMM_TOL * Math.sqrt(k + 1) * (Math.abs(alpha) * mag + Math.abs(beta * cv)) + 1e-30;
            }
        return new double[][] {ref, tol};
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void gemmAllTransposesSizesAndViews(Backend b) {
        int[] dims = {1, 7, 33, 257};
        Random r = new Random(3);
        int caseNo = 0;
        try (Scope s = new Scope(b)) {
            for (int m : dims) for (int k : dims) for (int n : dims) {
                boolean ta = (caseNo & 1) != 0, tb = (caseNo & 2) != 0;
                // alternate: plain tensors / views with nonzero offsets; beta = 0 on NaN C / general alpha, beta
                boolean views = (caseNo / 4) % 2 == 1;
                boolean betaZero = (caseNo / 8) % 2 == 0;
                caseNo++;
                float alpha = betaZero ? 1f : -0.7f, beta = betaZero ? 0f : 1.3f;
                int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
                float[] a = rnd(r, ar * ac), bm = rnd(r, br * bc), c0 = betaZero ? nanArray(m * n) : rnd(r, m * n);
                Tensor A, B, C, cFlat = null;
                float[] cFlatHost = null;
                int cOff = 5;
                if (views) {
                    float[] aBig = rnd(r, (ar + 5) * ac);
                    System.arraycopy(a, 0, aBig, 2 * ac, a.length);
                    A = s.up(aBig, ar + 5, ac).rowRange(2, 2 + ar);
                    float[] bFlat = rnd(r, br * bc + 10);
                    System.arraycopy(bm, 0, bFlat, 3, bm.length);
                    B = s.up(bFlat, 1, bFlat.length).view(3, br, bc);
                    cFlatHost = rnd(r, m * n + 11);
                    System.arraycopy(c0, 0, cFlatHost, cOff, c0.length);
                    cFlat = s.up(cFlatHost, 1, cFlatHost.length);
                    C = cFlat.view(cOff, m, n);
                } else {
                    A = s.up(a, ar, ac);
                    B = s.up(bm, br, bc);
                    C = s.up(c0, m, n);
                }
                b.gemm(ta, tb, alpha, A, B, beta, C);
                String what = "gemm " + (ta ? "A^T" : "A") + "(" + ar + "x" + ac + ") " + (tb ? "B^T" : "B") + "(" + br + "x" + bc
                        + ") m=" + m + " k=" + k + " n=" + n + " alpha=" + alpha + " beta=" + beta + (views ? " on views" : "");
                double[][] ref = gemmRef(ta, tb, alpha, a, ar, ac, bm, br, bc, beta, c0, m, n);
                float[] got = b.download(C);
                for (int i = 0; i < got.length; i++)
                    if (!(Math.abs(got[i] - ref[0][i]) <= ref[1][i]))
                        fail(what + ": element " + i + " is " + got[i] + ", expected " + ref[0][i] + " (tolerance " + ref[1][i] + ")");
                if (views) {
                    float[] all = b.download(cFlat);
                    for (int i = 0; i < all.length; i++)
                        if (i < cOff || i >= cOff + m * n) assertEquals(cFlatHost[i], all[i], what + ": wrote outside C at " + i);
                }
                A.close(); B.close(); C.close(); // views: no-ops; owners are closed by the scope
            }
        }
    }

    /** Larger products (the CPU backend splits them into row or column blocks over its threads), all transposes, on views. */
    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void gemmLargeBlocksAllTransposes(Backend b) {
        Random r = new Random(33);
        int[][] mkn = {{40, 300, 301}, {301, 300, 40}, {129, 64, 130}};
        try (Scope s = new Scope(b)) {
            for (int[] d : mkn) for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                int m = d[0], k = d[1], n = d[2];
                int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
                float[] a = rnd(r, ar * ac), bm = rnd(r, br * bc), c0 = rnd(r, m * n);
                float[] flat = rnd(r, 7 + a.length + bm.length + c0.length);
                System.arraycopy(a, 0, flat, 7, a.length);
                System.arraycopy(bm, 0, flat, 7 + a.length, bm.length);
                Tensor F = s.up(flat, 1, flat.length);
                Tensor A = F.view(7, ar, ac), B = F.view(7 + a.length, br, bc);
                Tensor C = s.up(c0, m, n);
                b.gemm(ta, tb, 0.5f, A, B, -2f, C);
                double[][] ref = gemmRef(ta, tb, 0.5f, a, ar, ac, bm, br, bc, -2f, c0, m, n);
                float[] got = b.download(C);
                for (int i = 0; i < got.length; i++)
                    if (!(Math.abs(got[i] - ref[0][i]) <= ref[1][i]))
                        fail("gemm ta=" + ta + " tb=" + tb + " m=" + m + " k=" + k + " n=" + n + ": element " + i + " is " + got[i]
                                + ", expected " + ref[0][i] + " (tolerance " + ref[1][i] + ")");
            }
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void gemmEmptyInnerDimensionAndShapeErrors(Backend b) {
        Random r = new Random(4);
        try (Scope s = new Scope(b)) {
            Tensor a = s.zeros(3, 0), bm = s.zeros(0, 4);
            Tensor c = s.poison(3, 4);
            b.gemm(false, false, 1f, a, bm, 0f, c);
            for (float v : b.download(c)) assertEquals(0f, v, "k = 0, beta = 0: C = 0 even over NaN");
            float[] c0 = rnd(r, 12);
            Tensor c2 = s.up(c0, 3, 4);
            b.gemm(false, false, 1f, a, bm, 2f, c2);
            double[] exp = new double[12];
            for (int i = 0; i < 12; i++) exp[i] = 2.0 * c0[i];
            assertEw("k = 0: C = beta C", exp, b.download(c2));
            b.gemm(true, true, 1f, s.zeros(0, 3), s.zeros(4, 0), 0.5f, c2);
            for (int i = 0; i < 12; i++) exp[i] *= 0.5;
            assertEw("k = 0 transposed: C = beta C", exp, b.download(c2));
            b.gemm(false, false, 1f, s.zeros(0, 5), s.zeros(5, 4), 0f, s.zeros(0, 4)); // m = 0: nothing to do

            Tensor x35 = s.zeros(3, 5), x42 = s.zeros(4, 2), c32 = s.zeros(3, 2);
            assertShapeError("gemm", () -> b.gemm(false, false, 1f, x35, x42, 0f, c32), "3x5", "4x2");
            assertShapeError("gemm", () -> b.gemm(false, false, 1f, x35, s.zeros(5, 2), 0f, s.zeros(2, 3)), "3x5", "5x2", "2x3");
            assertShapeError("gemm", () -> b.gemm(true, false, 1f, x35, s.zeros(5, 2), 0f, s.zeros(5, 2)), "3x5", "5x2");
        }
    }

    // ============================================================================== elementwise

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void axpbyScaleAxpy(Backend b) {
        Random r = new Random(5);
        try (Scope s = new Scope(b)) {
            for (int[] sh : SHAPES) {
                int n = sh[0] * sh[1];
                float[] x = rnd(r, n), y = rnd(r, n);
                double[] exp = new double[n];
                Tensor X = s.up(x, sh[0], sh[1]);
                Tensor Y = s.up(y, sh[0], sh[1]);
                b.axpby(0.75f, X, -1.25f, Y);
                for (int i = 0; i < n; i++) exp[i] = 0.75 * x[i] - 1.25 * y[i];
                assertEw("axpby", exp, b.download(Y));
                // beta = 0 ignores NaN in y; y of another shape but the same size
                Tensor P = s.poison(sh[1], sh[0]);
                b.axpby(-2f, X, 0f, P);
                for (int i = 0; i < n; i++) exp[i] = -2.0 * x[i];
                assertEw("axpby beta=0 over NaN", exp, b.download(P));
                // in place, x == y
                Tensor Z = s.up(x, sh[0], sh[1]);
                b.axpby(0.5f, Z, 3f, Z);
                for (int i = 0; i < n; i++) exp[i] = 3.5 * x[i];
                assertEw("axpby in place", exp, b.download(Z));
                b.scale(-0.5f, Z);
                for (int i = 0; i < n; i++) exp[i] *= -0.5;
                assertEw("scale", exp, b.download(Z));
                Tensor W = s.up(y, sh[0], sh[1]);
                b.axpy(2f, X, W);
                for (int i = 0; i < n; i++) exp[i] = 2.0 * x[i] + y[i];
                assertEw("axpy", exp, b.download(W));
            }
            // on views of one flat buffer
            float[] f = rnd(r, 60);
            Tensor flat = s.up(f, 1, 60);
            b.axpby(2f, flat.view(0, 4, 5), 1f, flat.view(30, 5, 4));
            float[] got = b.download(flat);
            for (int i = 0; i < 60; i++) {
                double e = i >= 30 && i < 50 ? 2.0 * f[i - 30] + f[i] : f[i];
                assertEquals(e, got[i], EW_RTOL * Math.abs(e) + EW_ATOL, "axpby on views, i=" + i);
            }
            assertShapeError("axpby", () -> b.axpby(1f, s.zeros(3, 5), 1f, s.zeros(2, 7)), "3x5", "2x7");
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void mulAndClamp(Backend b) {
        Random r = new Random(6);
        try (Scope s = new Scope(b)) {
            for (int[] sh : SHAPES) {
                int n = sh[0] * sh[1];
                float[] x = rnd(r, n), y = rnd(r, n);
                double[] exp = new double[n];
                for (int i = 0; i < n; i++) exp[i] = (double) x[i] * y[i];
                Tensor X = s.up(x, sh[0], sh[1]), Y = s.up(y, sh[0], sh[1]), O = s.poison(sh[0], sh[1]);
                b.mul(X, Y, O);
                assertEw("mul", exp, b.download(O));
                b.mul(X, Y, X); // out aliases x
                assertEw("mul out=x", exp, b.download(X));
                Tensor Z = s.up(y, sh[0], sh[1]);
                b.mul(Z, Z, Z);
                for (int i = 0; i < n; i++) exp[i] = (double) y[i] * y[i];
                assertEw("mul x=y=out", exp, b.download(Z));
                Tensor C = s.up(y, sh[0], sh[1]);
                b.clamp(C, -0.5f, 1f);
                for (int i = 0; i < n; i++) exp[i] = Math.max(-0.5, Math.min(1.0, y[i]));
                assertEw("clamp", exp, b.download(C));
            }
            assertShapeError("mul", () -> b.mul(s.zeros(3, 5), s.zeros(5, 3), s.zeros(3, 5)), "3x5", "5x3");
            assertShapeError("mul", () -> b.mul(s.zeros(3, 5), s.zeros(3, 5), s.zeros(2, 7)), "3x5", "2x7");
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void addRowVectorAndColumnSums(Backend b) {
        Random r = new Random(7);
        try (Scope s = new Scope(b)) {
            for (int[] sh : SHAPES) {
                int rows = sh[0], cols = sh[1], n = rows * cols;
                float[] m = rnd(r, n), row = rnd(r, cols), out0 = rnd(r, cols);
                Tensor M = s.up(m, rows, cols), R = s.up(row, 1, cols);
                b.addRowVector(M, R);
                double[] exp = new double[n];
                for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) exp[i * cols + j] = (double) m[i * cols + j] + row[j];
                assertEw("addRowVector", exp, b.download(M));

                Tensor M2 = s.up(m, rows, cols);
                double[] sums = new double[cols], abs = new double[cols];
                for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) { sums[j] += m[i * cols + j]; abs[j] += Math.abs(m[i * cols + j]); }
                Tensor O = s.poison(1, cols);
                b.columnSums(0.5f, M2, 0f, O);
                float[] got = b.download(O);
                for (int j = 0; j < cols; j++) assertScalar("columnSums beta=0 over NaN, col " + j, 0.5 * sums[j], 0.5 * abs[j], got[j]);
                Tensor O2 = s.up(out0, 1, cols);
                b.columnSums(-1f, M2, 2f, O2);
                got = b.download(O2);
                for (int j = 0; j < cols; j++)
                    assertScalar("columnSums alpha/beta, col " + j, -sums[j] + 2.0 * out0[j], abs[j] + 2 * Math.abs(out0[j]), got[j]);
            }
            // bias row of a "[1, h] W" block: the row and the matrix are views of one buffer
            float[] blk = rnd(r, 5 * 4);
            Tensor block = s.up(blk, 5, 4);
            Tensor dst = s.up(rnd(r, 3 * 4), 3, 4);
            float[] d0 = b.download(dst);
            b.addRowVector(dst, block.row(0));
            double[] exp = new double[12];
            for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) exp[i * 4 + j] = (double) d0[i * 4 + j] + blk[j];
            assertEw("addRowVector with a view row", exp, b.download(dst));
            b.columnSums(1f, dst, 0f, block.row(0));
            float[] gotBlock = b.download(block);
            for (int j = 0; j < 4; j++) assertEquals(exp[j] + exp[4 + j] + exp[8 + j], gotBlock[j], 1e-5, "columnSums into a view row");
            for (int i = 4; i < 20; i++) assertEquals(blk[i], gotBlock[i], "columnSums wrote outside its row");

            assertShapeError("addRowVector", () -> b.addRowVector(s.zeros(3, 5), s.zeros(1, 3)), "3x5", "1x3");
            assertShapeError("columnSums", () -> b.columnSums(1f, s.zeros(3, 5), 0f, s.zeros(1, 3)), "3x5", "1x3");
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void activationsAndDerivatives(Backend b) {
        Random r = new Random(8);
        try (Scope s = new Scope(b)) {
            for (Activation phi : Activation.values()) {
                for (int[] sh : SHAPES) {
                    int n = sh[0] * sh[1];
                    float[] a = rnd(r, n, 3.0), g = rnd(r, n);
                    double[] e0 = new double[n], e1 = new double[n], e2 = new double[n];
                    for (int i = 0; i < n; i++) {
                        e0[i] = phi.apply(a[i]);
                        e1[i] = phi.derivative(a[i]) * g[i];
                        e2[i] = phi.secondDerivative(a[i]) * g[i];
                    }
                    String w = phi + " " + sh[0] + "x" + sh[1];
                    Tensor A = s.up(a, sh[0], sh[1]), G = s.up(g, sh[0], sh[1]);
                    Tensor H = s.poison(sh[0], sh[1]);
                    b.activation(phi, A, H);
                    assertEw("activation " + w, e0, b.download(H));
                    Tensor O = s.poison(sh[0], sh[1]);
                    b.activationDerivMul(phi, A, G, O);
                    assertEw("activationDerivMul " + w, e1, b.download(O));
                    Tensor O2 = s.poison(sh[0], sh[1]);
                    b.activationSecondDerivMul(phi, A, G, O2);
                    assertEw("activationSecondDerivMul " + w, e2, b.download(O2));
                    // in place: h = phi(h); out aliases g; out aliases a
                    Tensor A2 = s.up(a, sh[0], sh[1]);
                    b.activation(phi, A2, A2);
                    assertEw("activation in place " + w, e0, b.download(A2));
                    Tensor G2 = s.up(g, sh[0], sh[1]);
                    b.activationDerivMul(phi, A, G2, G2);
                    assertEw("activationDerivMul out=g " + w, e1, b.download(G2));
                    Tensor A3 = s.up(a, sh[0], sh[1]);
                    b.activationDerivMul(phi, A3, G, A3);
                    assertEw("activationDerivMul out=a " + w, e1, b.download(A3));
                    Tensor G3 = s.up(g, sh[0], sh[1]);
                    b.activationSecondDerivMul(phi, A, G3, G3);
                    assertEw("activationSecondDerivMul out=g " + w, e2, b.download(G3));
                }
            }
            // stability at large |a|
            float[] big = {-200f, -60f, -20f, -1e-6f, 1e-6f, 20f, 60f, 200f};
            Tensor A = s.up(big, 1, big.length);
            for (Activation phi : Activation.values()) {
                Tensor H = s.poison(1, big.length);
                b.activation(phi, A, H);
                double[] exp = new double[big.length];
                for (int i = 0; i < big.length; i++) exp[i] = phi.apply(big[i]);
                assertEw("activation " + phi + " at large |a|", exp, b.download(H));
            }
            assertShapeError("activation", () -> b.activation(Activation.TANH, s.zeros(3, 5), s.zeros(5, 3)), "3x5", "5x3");
            assertShapeError("activationDerivMul",
                    () -> b.activationDerivMul(Activation.TANH, s.zeros(3, 5), s.zeros(5, 3), s.zeros(3, 5)), "3x5", "5x3");
            assertShapeError("activationSecondDerivMul",
                    () -> b.activationSecondDerivMul(Activation.SIGMOID, s.zeros(3, 5), s.zeros(3, 5), s.zeros(5, 3)), "3x5", "5x3");
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void triangularMaskAndIdentity(Backend b) {
        Random r = new Random(9);
        try (Scope s = new Scope(b)) {
            for (int n : new int[] {1, 7, 200}) {
                float[] a = rnd(r, n * n);
                for (boolean upper : new boolean[] {true, false}) {
                    Tensor T = s.up(a, n, n);
                    b.triangularMask(T, upper);
                    float[] got = b.download(T);
                    for (int i = 0; i < n; i++)
                        for (int j = 0; j < n; j++) {
                            boolean keep = upper ? j >= i : j <= i;
                            assertEquals(keep ? a[i * n + j] : 0f, got[i * n + j], (upper ? "triu" : "tril") + " n=" + n + " (" + i + "," + j + ")");
                        }
                }
                Tensor I = s.poison(n, n);
                b.setIdentity(I, -1.5f);
                float[] got = b.download(I);
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++) assertEquals(i == j ? -1.5f : 0f, got[i * n + j], "setIdentity n=" + n);
            }
            // a square block that is a view of a flat parameter vector
            float[] f = rnd(r, 30);
            Tensor flat = s.up(f, 1, 30);
            b.setIdentity(flat.view(7, 3, 3), 2f);
            b.triangularMask(flat.view(20, 3, 3), true);
            float[] got = b.download(flat);
            for (int i = 0; i < 30; i++) {
                float e = f[i];
                if (i >= 7 && i < 16) e = ((i - 7) % 4 == 0) ? 2f : 0f;
                if (i >= 20 && i < 29) { int q = i - 20, row = q / 3, col = q % 3; e = col >= row ? f[i] : 0f; }
                assertEquals(e, got[i], "identity/mask on views, i=" + i);
            }
            assertShapeError("triangularMask", () -> b.triangularMask(s.zeros(3, 5), true), "3x5");
            assertShapeError("setIdentity", () -> b.setIdentity(s.zeros(3, 5), 1f), "3x5");
        }
    }

    // ============================================================================== reductions

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void dotSumSquaresCountNonFinite(Backend b) {
        Random r = new Random(10);
        try (Scope s = new Scope(b)) {
            for (int[] sh : new int[][] {{1, 1}, {7, 33}, {181, 211}, {1, 1000003}}) {
                int n = sh[0] * sh[1];
                float[] x = rnd(r, n), y = rnd(r, n);
                double dot = 0, dabs = 0, ss = 0;
                for (int i = 0; i < n; i++) { dot += (double) x[i] * y[i]; dabs += Math.abs((double) x[i] * y[i]); ss += (double) x[i] * x[i]; }
                Tensor X = s.up(x, sh[0], sh[1]), Y = s.up(y, sh[1], sh[0]); // same size, other shape
                Tensor out = s.poison(1, 1);
                b.dot(X, Y, out);
                float d1 = b.readScalar(out);
                assertScalar("dot n=" + n, dot, dabs, d1);
                b.dot(X, Y, out);
                assertEquals(d1, b.readScalar(out), "dot must be deterministic");
                Tensor out2 = s.poison(1, 1);
                b.sumSquares(X, out2);
                assertScalar("sumSquares n=" + n, ss, ss, b.readScalar(out2));
                Tensor cnt = s.poison(1, 1);
                b.countNonFinite(X, cnt);
                assertEquals(0f, b.readScalar(cnt), "countNonFinite of finite data");
                if (n > 3) {
                    float[] x2 = x.clone();
                    x2[0] = Float.NaN;
                    x2[n / 2] = Float.POSITIVE_INFINITY;
                    x2[n - 1] = Float.NEGATIVE_INFINITY;
                    x2[1] = Float.MAX_VALUE; // finite
                    b.upload(x2, X);
                    b.countNonFinite(X, cnt);
                    assertEquals(3f, b.readScalar(cnt), "countNonFinite n=" + n);
                }
            }
            // on views: dot of two rows of one matrix
            float[] m = rnd(r, 3 * 50);
            Tensor M = s.up(m, 3, 50);
            Tensor out = s.poison(1, 1);
            b.dot(M.row(1), M.row(2), out);
            double d = 0, da = 0;
            for (int j = 0; j < 50; j++) { d += (double) m[50 + j] * m[100 + j]; da += Math.abs((double) m[50 + j] * m[100 + j]); }
            assertScalar("dot of row views", d, da, b.readScalar(out));
            b.sumSquares(M.view(10, 1, 1), M.view(0, 1, 1)); // out inside the same buffer
            assertEquals((double) m[10] * m[10], b.readScalar(M), 1e-6, "sumSquares into a view scalar");

            assertShapeError("dot", () -> b.dot(s.zeros(3, 5), s.zeros(2, 7), s.zeros(1, 1)), "3x5", "2x7");
            assertShapeError("dot", () -> b.dot(s.zeros(3, 5), s.zeros(3, 5), s.zeros(1, 2)), "1x2");
            assertShapeError("sumSquares", () -> b.sumSquares(s.zeros(3, 5), s.zeros(2, 2)), "2x2");
            assertShapeError("countNonFinite", () -> b.countNonFinite(s.zeros(3, 5), s.zeros(1, 2)), "1x2");
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void scaleByScalarAndScalarMulAdd(Backend b) {
        Random r = new Random(11);
        try (Scope s = new Scope(b)) {
            for (int[] sh : SHAPES) {
                int n = sh[0] * sh[1];
                float[] x = rnd(r, n);
                double ss = 0;
                for (float v : x) ss += (double) v * v;
                Tensor X = s.up(x, sh[0], sh[1]);
                Tensor S = s.poison(1, 1);
                b.sumSquares(X, S);
                Tensor Y = s.poison(sh[0], sh[1]);
                b.scaleByScalar(X, S, -0.5f, 2f, Y); // y = 2 x / ||x||
                double[] exp = new double[n];
                for (int i = 0; i < n; i++) exp[i] = 2.0 * x[i] / Math.sqrt(ss);
                assertEw("scaleByScalar 2 x / ||x||", exp, b.download(Y));
                b.scaleByScalar(X, S, 1f, 1f, X); // in place: x = ss x
                for (int i = 0; i < n; i++) exp[i] = ss * x[i];
                assertEw("scaleByScalar in place", exp, b.download(X));
                // s = 0, power < 0: not finite -> y = 0, even over NaN
                Tensor zero = s.scalar(0f);
                Tensor Y2 = s.poison(sh[0], sh[1]);
                b.scaleByScalar(X, zero, -0.5f, 1f, Y2);
                for (float v : b.download(Y2)) assertEquals(0f, v, "scaleByScalar with 0^-0.5");
            }
            Tensor a = s.scalar(1.5f), c = s.scalar(-0.25f), out = s.scalar(4f);
            b.scalarMulAdd(2f, a, c, 0.5f, out);
            assertEquals(1.5 * -0.25 * 2 + 0.5 * 4, b.readScalar(out), 1e-6, "scalarMulAdd");
            b.scalarMulAdd(1f, out, out, -1f, out); // out = out^2 - out
            assertEquals(1.25 * 1.25 - 1.25, b.readScalar(out), 1e-6, "scalarMulAdd aliased");
            assertShapeError("scaleByScalar", () -> b.scaleByScalar(s.zeros(3, 5), s.zeros(1, 2), 1f, 1f, s.zeros(3, 5)), "1x2");
            assertShapeError("scaleByScalar", () -> b.scaleByScalar(s.zeros(3, 5), s.zeros(1, 1), 1f, 1f, s.zeros(2, 7)), "3x5", "2x7");
            assertShapeError("scalarMulAdd", () -> b.scalarMulAdd(1f, s.zeros(1, 2), s.zeros(1, 1), 0f, s.zeros(1, 1)), "1x2");
        }
    }

    // ============================================================================== likelihoods

    static final float SIGMA = 0.7f;

    /** Valid targets: 0/1, one-hot rows, or real values. */
    static float[] targets(Random r, LikelihoodKind k, int rows, int cols) {
        float[] y = new float[rows * cols];
        switch (k) {
            case BERNOULLI: for (int i = 0; i < y.length; i++) y[i] = r.nextBoolean() ? 1f : 0f; break;
            case SOFTMAX: for (int i = 0; i < rows; i++) y[i * cols + r.nextInt(cols)] = 1f; break;
            default: for (int i = 0; i < y.length; i++) y[i] = (float) (r.nextGaussian() * 1.5); break;
        }
        return y;
    }

    static double logSumExp(double[] f, int off, int n) {
        double mx = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) mx = Math.max(mx, f[off + j]);
        double s = 0;
        for (int j = 0; j < n; j++) s += Math.exp(f[off + j] - mx);
        return mx + Math.log(s);
    }

    /** Reference mean NLL and the sum of |terms| (for the tolerance). */
    static double[] refNll(LikelihoodKind k, double[] f, float[] y, int rows, int cols, double sigma) {
        double sum = 0, abs = 0;
        for (int i = 0; i < rows; i++) {
            if (k == LikelihoodKind.SOFTMAX) {
                double lse = logSumExp(f, i * cols, cols), yf = 0;
                for (int j = 0; j < cols; j++) yf += y[i * cols + j] * f[i * cols + j];
                sum += lse - yf;
                abs += Math.abs(lse) + Math.abs(yf);
            } else {
                for (int j = 0; j < cols; j++) {
                    int q = i * cols + j;
                    double t = k == LikelihoodKind.BERNOULLI
                            ? Activation.SOFTPLUS.apply(f[q]) - y[q] * f[q]
                            : (y[q] - f[q]) * (y[q] - f[q]) / (2 * sigma * sigma) + Math.log(sigma) + 0.5 * Math.log(2 * Math.PI);
                    sum += t;
                    abs += Math.abs(t);
                }
            }
        }
        return new double[] {sum / rows, abs / rows};
    }

    static double[] refGrad(LikelihoodKind k, double[] f, float[] y, int rows, int cols, double sigma, double scale) {
        double[] g = new double[f.length];
        for (int i = 0; i < rows; i++) {
            double lse = k == LikelihoodKind.SOFTMAX ? logSumExp(f, i * cols, cols) : 0;
            for (int j = 0; j < cols; j++) {
                int q = i * cols + j;
                switch (k) {
                    case BERNOULLI: g[q] = sigmoid(f[q]) - y[q]; break;
                    case GAUSSIAN: g[q] = (f[q] - y[q]) / (sigma * sigma); break;
                    default: g[q] = Math.exp(f[q] - lse) - y[q]; break;
                }
                g[q] *= scale;
            }
        }
        return g;
    }

    static double[] refHv(LikelihoodKind k, double[] f, float[] v, int rows, int cols, double sigma, double scale) {
        double[] o = new double[f.length];
        for (int i = 0; i < rows; i++) {
            double lse = k == LikelihoodKind.SOFTMAX ? logSumExp(f, i * cols, cols) : 0, pv = 0;
            if (k == LikelihoodKind.SOFTMAX) for (int j = 0; j < cols; j++) pv += Math.exp(f[i * cols + j] - lse) * v[i * cols + j];
            for (int j = 0; j < cols; j++) {
                int q = i * cols + j;
                switch (k) {
                    case BERNOULLI: { double p = sigmoid(f[q]); o[q] = p * (1 - p) * v[q]; break; }
                    case GAUSSIAN: o[q] = v[q] / (sigma * sigma); break;
                    default: { double p = Math.exp(f[q] - lse); o[q] = p * v[q] - p * pv; break; }
                }
                o[q] *= scale;
            }
        }
        return o;
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void nllGradAndHessianAgainstReferences(Backend b) {
        Random r = new Random(12);
        try (Scope s = new Scope(b)) {
            Tensor sigma = s.scalar(SIGMA);
            for (LikelihoodKind k : LikelihoodKind.values()) {
                for (int[] sh : new int[][] {{1, 1}, {7, 10}, {300, 131}}) {
                    int rows = sh[0], cols = sh[1], n = rows * cols;
                    float[] f = rnd(r, n, 2.0), y = targets(r, k, rows, cols), v = rnd(r, n);
                    double[] fd = toDouble(f);
                    Tensor F = s.up(f, rows, cols), Y = s.up(y, rows, cols), V = s.up(v, rows, cols);
                    Tensor sig = k == LikelihoodKind.GAUSSIAN ? sigma : null;
                    String w = k + " " + rows + "x" + cols;

                    Tensor out = s.poison(1, 1);
                    b.nll(k, F, Y, sig, out);
                    double[] ref = refNll(k, fd, y, rows, cols, SIGMA);
                    assertScalar("nll " + w, ref[0], ref[1], b.readScalar(out));

                    Tensor G = s.poison(rows, cols);
                    b.nllGrad(k, F, Y, sig, 0.5f, G);
                    assertEw("nllGrad " + w, refGrad(k, fd, y, rows, cols, SIGMA, 0.5), b.download(G));
                    Tensor F2 = s.up(f, rows, cols);
                    b.nllGrad(k, F2, Y, sig, 1f, F2); // grad aliases f
                    assertEw("nllGrad grad=f " + w, refGrad(k, fd, y, rows, cols, SIGMA, 1), b.download(F2));

                    Tensor H = s.poison(rows, cols);
                    b.outputHessianVec(k, F, sig, V, 2f, H);
                    assertEw("outputHessianVec " + w, refHv(k, fd, v, rows, cols, SIGMA, 2), b.download(H));
                    Tensor V2 = s.up(v, rows, cols);
                    b.outputHessianVec(k, F, sig, V2, 1f, V2); // out aliases v
                    assertEw("outputHessianVec out=v " + w, refHv(k, fd, v, rows, cols, SIGMA, 1), b.download(V2));
                }
            }
            // stability: huge logits
            float[] f = {-300f, -80f, 0.5f, 80f, 300f, 1000f};
            float[] yb = {1f, 0f, 1f, 0f, 1f, 1f};
            Tensor F = s.up(f, 1, 6);
            Tensor out = s.poison(1, 1);
            b.nll(LikelihoodKind.BERNOULLI, F, s.up(yb, 1, 6), null, out);
            double[] ref = refNll(LikelihoodKind.BERNOULLI, toDouble(f), yb, 1, 6, 1);
            assertScalar("Bernoulli nll at huge logits", ref[0], ref[1], b.readScalar(out));
            float[] ys = {0f, 0f, 0f, 0f, 1f, 0f};
            b.nll(LikelihoodKind.SOFTMAX, F, s.up(ys, 1, 6), null, out);
            ref = refNll(LikelihoodKind.SOFTMAX, toDouble(f), ys, 1, 6, 1);
            assertScalar("softmax nll at huge logits", ref[0], ref[1], b.readScalar(out));
            Tensor G = s.poison(1, 6);
            b.nllGrad(LikelihoodKind.SOFTMAX, F, s.up(ys, 1, 6), null, 1f, G);
            assertEw("softmax grad at huge logits", refGrad(LikelihoodKind.SOFTMAX, toDouble(f), ys, 1, 6, 1, 1), b.download(G));

            Tensor x35 = s.zeros(3, 5), x53 = s.zeros(5, 3);
            assertShapeError("nll", () -> b.nll(LikelihoodKind.BERNOULLI, x35, x53, null, s.zeros(1, 1)), "3x5", "5x3");
            assertShapeError("nll", () -> b.nll(LikelihoodKind.GAUSSIAN, x35, x35, s.zeros(1, 2), s.zeros(1, 1)), "1x2");
            assertShapeError("nllGrad", () -> b.nllGrad(LikelihoodKind.SOFTMAX, x35, x35, null, 1f, x53), "3x5", "5x3");
            assertShapeError("outputHessianVec", () -> b.outputHessianVec(LikelihoodKind.BERNOULLI, x35, null, x53, 1f, x35), "3x5", "5x3");
            assertShapeError("gaussianSigmaGrad", () -> b.gaussianSigmaGrad(x35, x53, sigma, 1f, s.zeros(1, 1)), "3x5", "5x3");
            assertShapeError("sampleTargets", () -> b.sampleTargets(LikelihoodKind.BERNOULLI, x35, null, x53, x35), "3x5", "5x3");
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void nllGradAndHessianAgainstFiniteDifferences(Backend b) {
        Random r = new Random(13);
        int rows = 4, cols = 6, n = rows * cols;
        try (Scope s = new Scope(b)) {
            Tensor sigma = s.scalar(SIGMA);
            for (LikelihoodKind k : LikelihoodKind.values()) {
                Tensor sig = k == LikelihoodKind.GAUSSIAN ? sigma : null;
                float[] f = rnd(r, n, 1.5), y = targets(r, k, rows, cols), v = rnd(r, n);
                Tensor F = s.up(f, rows, cols), Y = s.up(y, rows, cols), V = s.up(v, rows, cols);
                // d NLL_row / d f_ij = rows * d nll / d f_ij, central differences of the double reference nll
                Tensor G = s.poison(rows, cols);
                b.nllGrad(k, F, Y, sig, 1f, G);
                float[] g = b.download(G);
                double h = 1e-5;
                for (int q = 0; q < n; q++) {
                    double[] fp = toDouble(f), fm = toDouble(f);
                    fp[q] += h;
                    fm[q] -= h;
                    double fdv = rows * (refNll(k, fp, y, rows, cols, SIGMA)[0] - refNll(k, fm, y, rows, cols, SIGMA)[0]) / (2 * h);
                    assertEquals(fdv, g[q], 1e-5 * Math.abs(fdv) + 2e-6, k + ": nllGrad vs finite differences of nll at " + q);
                }
                // H v vs central differences of the double reference gradient along v
                Tensor Hv = s.poison(rows, cols);
                b.outputHessianVec(k, F, sig, V, 1f, Hv);
                float[] hv = b.download(Hv);
                double[] fp = toDouble(f), fm = toDouble(f);
                for (int q = 0; q < n; q++) { fp[q] += h * v[q]; fm[q] -= h * v[q]; }
                double[] gp = refGrad(k, fp, y, rows, cols, SIGMA, 1), gm = refGrad(k, fm, y, rows, cols, SIGMA, 1);
                for (int q = 0; q < n; q++) {
                    double fdv = (gp[q] - gm[q]) / (2 * h);
                    assertEquals(fdv, hv[q], 1e-5 * Math.abs(fdv) + 2e-6, k + ": H v vs finite differences of the gradient at " + q);
                }
                // and against finite differences of the backend's own nllGrad (float: h = 1e-2, looser tolerance)
                float hb = 1e-2f;
                float[] fpf = new float[n], fmf = new float[n];
                for (int q = 0; q < n; q++) { fpf[q] = f[q] + hb * v[q]; fmf[q] = f[q] - hb * v[q]; }
                Tensor Gp = s.poison(rows, cols), Gm = s.poison(rows, cols);
                b.nllGrad(k, s.up(fpf, rows, cols), Y, sig, 1f, Gp);
                b.nllGrad(k, s.up(fmf, rows, cols), Y, sig, 1f, Gm);
                float[] gpf = b.download(Gp), gmf = b.download(Gm);
                for (int q = 0; q < n; q++) {
                    double fdv = ((double) gpf[q] - gmf[q]) / (2.0 * hb);
                    assertEquals(fdv, hv[q], 2e-3 * Math.abs(fdv) + 2e-3, k + ": H v vs backend nllGrad differences at " + q);
                }
            }
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void gaussianSigmaGrad(Backend b) {
        Random r = new Random(14);
        try (Scope s = new Scope(b)) {
            for (int[] sh : new int[][] {{1, 1}, {9, 13}, {300, 131}}) {
                int rows = sh[0], cols = sh[1], n = rows * cols;
                float[] f = rnd(r, n), y = targets(r, LikelihoodKind.GAUSSIAN, rows, cols);
                Tensor F = s.up(f, rows, cols), Y = s.up(y, rows, cols), sigma = s.scalar(SIGMA);
                double sum = 0, abs = 0;
                for (int q = 0; q < n; q++) {
                    double d = y[q] - f[q];
                    double t = 1 / (double) SIGMA - d * d / Math.pow(SIGMA, 3);
                    sum += t;
                    abs += Math.abs(t);
                }
                Tensor out = s.poison(1, 1);
                b.gaussianSigmaGrad(F, Y, sigma, 0.25f, out);
                float got = b.readScalar(out);
                assertScalar("gaussianSigmaGrad " + rows + "x" + cols, 0.25 * sum, 0.25 * abs, got);
                // with scale 1/N it is d nll / d sigma: compare with central differences of the reference nll
                b.gaussianSigmaGrad(F, Y, sigma, 1f / rows, out);
                double h = 1e-5;
                double fdv = (refNll(LikelihoodKind.GAUSSIAN, toDouble(f), y, rows, cols, SIGMA + h)[0]
                        - refNll(LikelihoodKind.GAUSSIAN, toDouble(f), y, rows, cols, SIGMA - h)[0]) / (2 * h);
                assertEquals(fdv, b.readScalar(out), 1e-4 * Math.abs(fdv) + 1e-4 * abs / rows, "d nll / d sigma vs finite differences");
            }
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void sampleTargetsBernoulli(Backend b) {
        int rows = 20000;
        float[] logits = {-2f, -0.3f, 0.5f, 1.7f};
        int cols = logits.length;
        try (Scope s = new Scope(b)) {
            float[] f = new float[rows * cols];
            for (int i = 0; i < rows; i++) System.arraycopy(logits, 0, f, i * cols, cols);
            Tensor F = s.up(f, rows, cols), noise = s.poison(rows, cols), Y = s.poison(rows, cols);
            b.setSeed(101);
            b.randUniform(noise);
            b.sampleTargets(LikelihoodKind.BERNOULLI, F, null, noise, Y);
            float[] y = b.download(Y), u = b.download(noise);
            for (int j = 0; j < cols; j++) {
                double p = sigmoid(logits[j]);
                int ones = 0;
                for (int i = 0; i < rows; i++) {
                    int q = i * cols + j;
                    assertTrue(y[q] == 0f || y[q] == 1f, "Bernoulli sample must be 0/1");
                    if (Math.abs(u[q] - p) > 1e-6) assertEquals(u[q] < p ? 1f : 0f, y[q], "y = [u < sigmoid(f)] at " + q);
                    if (y[q] == 1f) ones++;
                }
                double freq = ones / (double) rows, se = Math.sqrt(p * (1 - p) / rows);
                assertEquals(p, freq, 5 * se, "Bernoulli frequency of column " + j);
            }
            // y may alias the noise
            b.sampleTargets(LikelihoodKind.BERNOULLI, F, null, noise, noise);
            assertArrayEquals(y, b.download(noise), "sampleTargets with y = noise");
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void sampleTargetsSoftmax(Backend b) {
        int rows = 20000;
        float[] logits = {1f, -0.5f, 0.3f, 2f, -1f};
        int cols = logits.length;
        double[] p = new double[cols];
        double lse = logSumExp(toDouble(logits), 0, cols);
        for (int j = 0; j < cols; j++) p[j] = Math.exp(logits[j] - lse);
        try (Scope s = new Scope(b)) {
            float[] f = new float[rows * cols];
            for (int i = 0; i < rows; i++) System.arraycopy(logits, 0, f, i * cols, cols);
            Tensor F = s.up(f, rows, cols), noise = s.poison(rows, cols), Y = s.poison(rows, cols);
            b.setSeed(202);
            b.randUniform(noise);
            b.sampleTargets(LikelihoodKind.SOFTMAX, F, null, noise, Y);
            float[] y = b.download(Y), u = b.download(noise);
            int[] counts = new int[cols];
            for (int i = 0; i < rows; i++) {
                int hot = -1;
                for (int j = 0; j < cols; j++) {
                    float v = y[i * cols + j];
                    assertTrue(v == 0f || v == 1f, "softmax sample must be one-hot");
                    if (v == 1f) { assertEquals(-1, hot, "exactly one 1 per row"); hot = j; }
                }
                assertTrue(hot >= 0, "exactly one 1 per row");
                counts[hot]++;
                // inverse CDF of noise[row, 0]
                double c = 0, ur = u[i * cols];
                int exp = cols - 1;
                boolean nearEdge = false;
                for (int j = 0; j < cols; j++) {
                    c += p[j];
                    if (Math.abs(c - ur) < 1e-6) nearEdge = true;
                    if (c > ur) { exp = j; break; }
                }
                if (!nearEdge) assertEquals(exp, hot, "inverse CDF class of row " + i + " (u = " + ur + ")");
            }
            for (int j = 0; j < cols; j++)
                assertEquals(p[j], counts[j] / (double) rows, 5 * Math.sqrt(p[j] * (1 - p[j]) / rows), "softmax frequency of class " + j);
            // y may alias f (whole row read before written) and noise
            Tensor F2 = s.up(f, rows, cols);
            b.sampleTargets(LikelihoodKind.SOFTMAX, F2, null, noise, F2);
            assertArrayEquals(y, b.download(F2), "sampleTargets with y = f");
            b.sampleTargets(LikelihoodKind.SOFTMAX, F, null, noise, noise);
            assertArrayEquals(y, b.download(noise), "sampleTargets with y = noise");
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void sampleTargetsGaussian(Backend b) {
        Random r = new Random(15);
        int rows = 500, cols = 200, n = rows * cols;
        try (Scope s = new Scope(b)) {
            float[] f = rnd(r, n);
            Tensor F = s.up(f, rows, cols), noise = s.poison(rows, cols), Y = s.poison(rows, cols), sigma = s.scalar(SIGMA);
            b.setSeed(303);
            b.randNormal(noise, 0f, 1f);
            b.sampleTargets(LikelihoodKind.GAUSSIAN, F, sigma, noise, Y);
            float[] y = b.download(Y), z = b.download(noise);
            double[] exp = new double[n];
            double mean = 0, sq = 0;
            for (int q = 0; q < n; q++) {
                exp[q] = f[q] + (double) SIGMA * z[q];
                double e = (y[q] - f[q]) / SIGMA;
                mean += e;
                sq += e * e;
            }
            assertEw("y = f + sigma noise", exp, y);
            mean /= n;
            double std = Math.sqrt(sq / n - mean * mean);
            assertEquals(0, mean, 5 / Math.sqrt(n), "Gaussian sample mean of (y - f) / sigma");
            assertEquals(1, std, 5 / Math.sqrt(2.0 * n), "Gaussian sample std of (y - f) / sigma");
            b.sampleTargets(LikelihoodKind.GAUSSIAN, F, sigma, noise, F); // y aliases f
            assertEw("sampleTargets with y = f", exp, b.download(F));
        }
    }

    // ============================================================================== fused optimizer updates

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void momentumStepHandComputed(Backend b) {
        try (Scope s = new Scope(b)) {
            // p = 1, g = 0.5, m = 0.2, lr = 0.1, mu = 0.9, wd = 0.01: g' = 0.51
            Object[][] cases = {
                // dampening, nesterov, mu, expected m, expected p
                {0f, false, 0.9f, 0.69, 0.931},    // m = 0.18 + 0.51; p = 1 - 0.1 * 0.69
                {0f, true, 0.9f, 0.69, 0.8869},    // p = 1 - 0.1 * (0.51 + 0.9 * 0.69)
                {0.9f, false, 0.9f, 0.231, 0.9769}, // EMA: m = 0.18 + 0.1 * 0.51
                {0f, false, 0f, 0.51, 0.949},      // plain SGD, m still written
            };
            for (Object[] c : cases) {
                Tensor p = s.up(new float[] {1f, 1f, 1f}, 1, 3), g = s.up(new float[] {0.5f, 0.5f, 0.5f}, 1, 3);
                Tensor m = s.up(new float[] {0.2f, 0.2f, 0.2f}, 1, 3);
                b.momentumStep(p, g, m, 0.1f, (float) c[2], (float) c[0], 0.01f, (boolean) c[1]);
                String w = "momentumStep dampening=" + c[0] + " nesterov=" + c[1] + " mu=" + c[2];
                for (float v : b.download(m)) assertEquals((double) c[3], v, 1e-6, w + ": m");
                for (float v : b.download(p)) assertEquals((double) c[4], v, 1e-6, w + ": p");
            }
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void momentumStepRandom(Backend b) {
        Random r = new Random(16);
        try (Scope s = new Scope(b)) {
            for (int[] sh : SHAPES) for (boolean nesterov : new boolean[] {false, true}) {
                int n = sh[0] * sh[1];
                float[] p = rnd(r, n), g = rnd(r, n), m = rnd(r, n);
                float lr = 0.05f, mu = 0.8f, damp = 0.3f, wd = 1e-2f;
                double[] ep = new double[n], em = new double[n];
                for (int i = 0; i < n; i++) {
                    double gg = g[i] + (double) wd * p[i];
                    em[i] = mu * (double) m[i] + (1 - (double) damp) * gg;
                    ep[i] = p[i] - lr * (nesterov ? gg + mu * em[i] : em[i]);
                }
                Tensor P = s.up(p, sh[0], sh[1]), G = s.up(g, sh[0], sh[1]), M = s.up(m, sh[0], sh[1]);
                b.momentumStep(P, G, M, lr, mu, damp, wd, nesterov);
                assertEw("momentumStep m", em, b.download(M));
                assertEw("momentumStep p", ep, b.download(P));
                assertArrayEquals(g, b.download(G), "momentumStep must not change g");
            }
            assertShapeError("momentumStep", () -> b.momentumStep(s.zeros(3, 5), s.zeros(5, 3), s.zeros(3, 5), 1f, 0f, 0f, 0f, false), "3x5", "5x3");
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void adamStepHandComputed(Backend b) {
        try (Scope s = new Scope(b)) {
            // step t = 2 of Adam with b1 = 0.9, b2 = 0.999: bc1 = 0.19, bc2 = 0.001999
            float bc1 = 0.19f, bc2 = 0.001999f;
            // element 0: p = 1, g = 0.5, m = 0.2, v = 0.04, decoupled wd 0.01:
            //   m = 0.23, v = 0.04021, p = 1 - 0.1 ((0.23 / 0.19) / sqrt(0.04021 / 0.001999) + 0.01) = 0.9720093
            Tensor p = s.up(new float[] {1f}, 1, 1), g = s.up(new float[] {0.5f}, 1, 1);
            Tensor m = s.up(new float[] {0.2f}, 1, 1), v = s.up(new float[] {0.04f}, 1, 1);
            b.adamStep(p, g, m, v, 0.1f, 0.9f, 0.999f, 1e-8f, 0f, 0.01f, bc1, bc2);
            assertEquals(0.23, b.readScalar(m), 1e-6, "adam m");
            assertEquals(0.04021, b.readScalar(v), 1e-7, "adam v");
            assertEquals(0.9720093, b.readScalar(p), 2e-6, "adam p (decoupled wd)");
            // element 1: p = 2, g = -0.3, m = 0.1, v = 0.01, l2 = 0.05: g' = -0.2, m = 0.07, v = 0.01003,
            //   p = 2 - 0.1 (0.07 / 0.19) / sqrt(0.01003 / 0.001999) = 1.9835525
            Tensor p2 = s.up(new float[] {2f}, 1, 1), g2 = s.up(new float[] {-0.3f}, 1, 1);
            Tensor m2 = s.up(new float[] {0.1f}, 1, 1), v2 = s.up(new float[] {0.01f}, 1, 1);
            b.adamStep(p2, g2, m2, v2, 0.1f, 0.9f, 0.999f, 1e-8f, 0.05f, 0f, bc1, bc2);
            assertEquals(0.07, b.readScalar(m2), 1e-6, "adam m (l2)");
            assertEquals(0.01003, b.readScalar(v2), 1e-7, "adam v (l2)");
            assertEquals(1.9835525, b.readScalar(p2), 2e-6, "adam p (l2)");
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void adamStepRandom(Backend b) {
        Random r = new Random(17);
        try (Scope s = new Scope(b)) {
            for (int[] sh : SHAPES) {
                int n = sh[0] * sh[1];
                float[] p = rnd(r, n), g = rnd(r, n), m = rnd(r, n, 0.1), v = new float[n];
                for (int i = 0; i < n; i++) v[i] = 0.01f + Math.abs(rnd(r, 1)[0]) * 0.1f;
                float lr = 1e-2f, b1 = 0.9f, b2 = 0.99f, eps = 1e-6f, l2 = 1e-3f, wd = 1e-2f;
                int t = 3;
                float bc1 = (float) (1 - Math.pow(b1, t)), bc2 = (float) (1 - Math.pow(b2, t));
                double[] ep = new double[n], em = new double[n], ev = new double[n];
                for (int i = 0; i < n; i++) {
                    double gg = g[i] + (double) l2 * p[i];
                    em[i] = b1 * (double) m[i] + (1 - (double) b1) * gg;
                    ev[i] = b2 * (double) v[i] + (1 - (double) b2) * gg * gg;
                    ep[i] = p[i] - lr * ((em[i] / bc1) / (Math.sqrt(ev[i] / bc2) + eps) + wd * (double) p[i]);
                }
                Tensor P = s.up(p, sh[0], sh[1]), G = s.up(g, sh[0], sh[1]), M = s.up(m, sh[0], sh[1]), V = s.up(v, sh[0], sh[1]);
                b.adamStep(P, G, M, V, lr, b1, b2, eps, l2, wd, bc1, bc2);
                assertEw("adamStep m", em, b.download(M));
                assertEw("adamStep v", ev, b.download(V));
                assertEw("adamStep p", ep, b.download(P));
                assertArrayEquals(g, b.download(G), "adamStep must not change g");
            }
            assertShapeError("adamStep", () -> b.adamStep(s.zeros(3, 5), s.zeros(3, 5), s.zeros(3, 5), s.zeros(5, 3),
                    1f, 0.9f, 0.99f, 1e-8f, 0f, 0f, 1f, 1f), "3x5", "5x3");
        }
    }

    @ParameterizedTest(autoCloseArguments = false) @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void adamStepAtReadsTheStepCountFromTheDevice(Backend b) {
        Random r = new Random(19);
        try (Scope s = new Scope(b)) {
            int n = 1000;
            float[] p = rnd(r, n), g = rnd(r, n), m = rnd(r, n, 0.1), v = new float[n];
            for (int i = 0; i < n; i++) v[i] = 0.01f + Math.abs(rnd(r, 1)[0]) * 0.1f;
            float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-6f, l2 = 1e-3f, wd = 1e-2f;
            for (int t : new int[] {1, 2, 7, 170, 5000, 100000}) {
                float bc1 = (float) (1 - Math.pow(b1, t)), bc2 = (float) (1 - Math.pow(b2, t));
                Tensor P1 = s.up(p, 1, n), M1 = s.up(m, 1, n), V1 = s.up(v, 1, n), G = s.up(g, 1, n);
                Tensor P2 = s.up(p, 1, n), M2 = s.up(m, 1, n), V2 = s.up(v, 1, n);
                b.adamStep(P1, G, M1, V1, lr, b1, b2, eps, l2, wd, bc1, bc2);
                Tensor step = s.scalar(t);
                b.adamStepAt(P2, G, M2, V2, lr, b1, b2, eps, l2, wd, step);
                float[] e = b.download(P1), got = b.download(P2);
                if (b.name().equals("cpu")) {
                    assertArrayEquals(e, got, "t = " + t + ": the same float bias corrections as the host computes");
                } else { // device pow may differ from the JVM's in the last bit of a double
                    for (int i = 0; i < n; i++)
                        assertEquals(e[i], got[i], 2 * Math.ulp(e[i]) + 1e-7f, "t = " + t + ", element " + i);
                }
                assertArrayEquals(b.download(M1), b.download(M2), "m");
                assertArrayEquals(b.download(V1), b.download(V2), "v");
                assertEquals((float) t, b.readScalar(step), "the step count is only read");
            }
            assertShapeError("adamStepAt", () -> b.adamStepAt(s.zeros(1, 4), s.zeros(1, 4), s.zeros(1, 4), s.zeros(1, 4),
                    1f, 0.9f, 0.99f, 1e-8f, 0f, 0f, s.zeros(1, 2)), "1x2");
            Tensor pv = s.zeros(1, 5);
            assertShapeError("adamStepAt", () -> b.adamStepAt(pv.view(0, 1, 4), s.zeros(1, 4), s.zeros(1, 4), s.zeros(1, 4),
                    1f, 0.9f, 0.99f, 1e-8f, 0f, 0f, pv.view(3, 1, 1)), "overlaps p");
            if (b.name().equals("cpu")) // the CPU backend can check the count; a kernel cannot report it
                assertShapeError("adamStepAt", () -> b.adamStepAt(s.zeros(1, 4), s.zeros(1, 4), s.zeros(1, 4), s.zeros(1, 4),
                        1f, 0.9f, 0.99f, 1e-8f, 0f, 0f, s.scalar(0f)), "whole number >= 1");
        }
    }

    @ParameterizedTest(autoCloseArguments = false) @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void reluMapsNaNToZeroLikeActivationApply(Backend b) {
        try (Scope s = new Scope(b)) {
            float[] a = {Float.NaN, -1f, 2f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, -0f};
            Tensor x = s.up(a, 1, a.length), h = s.poison(1, a.length);
            b.activation(Activation.RELU, x, h);
            float[] got = b.download(h);
            for (int i = 0; i < a.length; i++)
                assertEquals(Activation.RELU.apply(a[i]), got[i], "relu(" + a[i] + ")");
            assertEquals(0f, got[0], "relu(NaN)");
        }
    }

    @ParameterizedTest(autoCloseArguments = false) @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void gatherRowsRejectsAnIndexOutsideSrc(Backend b) {
        try (Scope s = new Scope(b)) {
            Tensor src = s.up(rnd(new Random(3), 12), 4, 3), dst = s.poison(2, 3);
            assertShapeError("gatherRows", () -> b.gatherRows(src, new int[] {1, 4}, 0, dst), "index 4", "4x3");
            assertShapeError("gatherRows", () -> b.gatherRows(src, new int[] {0, -1, 2}, 1, dst), "index -1", "position 1");
            b.gatherRows(src, new int[] {9, 3, 0}, 1, dst); // only the slice [1, 3) is read
            float[] h = b.download(src), got = b.download(dst);
            for (int c = 0; c < 3; c++) {
                assertEquals(h[3 * 3 + c], got[c]);
                assertEquals(h[c], got[3 + c]);
            }
        }
    }

    // ============================================================================== random numbers

    static int[] philoxGeneral(int c0, int c1, int c2, int c3, int k0, int k1) {
        int[] out = new int[4];
        Philox.block(c0, c1, c2, c3, k0, k1, out);
        return out;
    }

    @Test
    void philoxKnownAnswers() {
        // Random123 kat_vectors, philox4x32_10
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}, philoxGeneral(0, 0, 0, 0, 0, 0));
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}, philoxGeneral(-1, -1, -1, -1, -1, -1));
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                philoxGeneral(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0));
        int[] out = new int[4];
        Philox.block(0L, 0L, out);
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}, out, "64-bit block, counter = key = 0");
        // the 64-bit form is the general one with counter words 2, 3 = 0 and key = (low, high) of the seed
        Random r = new Random(18);
        for (int i = 0; i < 100; i++) {
            long seed = r.nextLong(), ctr = i < 50 ? r.nextLong() : r.nextInt(1000);
            Philox.block(seed, ctr, out);
            assertArrayEquals(philoxGeneral((int) ctr, (int) (ctr >>> 32), 0, 0, (int) seed, (int) (seed >>> 32)), out);
        }
        assertEquals(0f, Philox.uniform(0));
        assertEquals(1f - Philox.TWO_POW_M24, Philox.uniform(-1));
        assertEquals(Philox.TWO_POW_M24, Philox.uniformOpen0(0));
        assertEquals(1f, Philox.uniformOpen0(-1));
    }

    static float[] refUniform(long seed, long offset, int n) {
        float[] a = new float[n];
        int[] w = new int[4];
        for (int i = 0; i < n; i++) {
            Philox.block(seed, offset + i / 4, w);
            a[i] = Philox.uniform(w[i % 4]);
        }
        return a;
    }

    static float[] refNormal(long seed, long offset, int n, float mean, float std) {
        float[] a = new float[n];
        int[] w = new int[4];
        for (int i = 0; i < n; i++) {
            Philox.block(seed, offset + i / 2, w);
            int h = 2 * (i % 2);
            a[i] = mean + std * Philox.normal(w[h], w[h + 1]);
        }
        return a;
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void randUniformStream(Backend b) {
        try (Scope s = new Scope(b)) {
            b.setSeed(42);
            assertEquals(42, b.seed());
            assertEquals(0, b.rngOffset());
            Tensor t = s.poison(7, 143); // 1001 elements: ceil(1001 / 4) = 251 counters
            b.randUniform(t);
            float[] first = b.download(t);
            assertArrayEquals(refUniform(42, 0, 1001), first, "uniform = Philox reference");
            assertEquals(251, b.rngOffset());
            Tensor t2 = s.poison(1, 8);
            b.randUniform(t2);
            assertArrayEquals(refUniform(42, 251, 8), b.download(t2), "second fill continues at the offset");
            assertEquals(253, b.rngOffset());
            b.setRngState(42, 0);
            b.randUniform(t);
            assertArrayEquals(first, b.download(t), "setRngState reproduces");
            b.setSeed(42);
            b.randUniform(t);
            assertArrayEquals(first, b.download(t), "setSeed restarts the stream");
            b.setSeed(43);
            b.randUniform(t);
            assertFalse(Arrays.equals(first, b.download(t)), "another seed gives other numbers");
            long big = 0x123456789abL;
            b.setRngState(-7L, big);
            b.randUniform(t2);
            assertArrayEquals(refUniform(-7L, big, 8), b.download(t2), "negative seed, large offset");
            assertEquals(big + 2, b.rngOffset());
            // on a view: neighbours untouched
            Tensor m = s.zeros(10, 10);
            b.fill(m, 5f);
            b.setSeed(1);
            b.randUniform(m.rowRange(3, 5));
            float[] got = b.download(m);
            float[] exp = refUniform(1, 0, 20);
            for (int i = 0; i < 100; i++) assertEquals(i >= 30 && i < 50 ? exp[i - 30] : 5f, got[i], "uniform on a view, i=" + i);
            // statistics over 1e6 draws
            Tensor u = s.zeros(1000, 1000);
            b.setSeed(7);
            b.randUniform(u);
            float[] a = b.download(u);
            double mean = 0, sq = 0;
            for (float x : a) {
                assertTrue(x >= 0f && x < 1f, "uniform in [0, 1)");
                mean += x;
                sq += (double) x * x;
            }
            int n = a.length;
            mean /= n;
            double var = sq / n - mean * mean;
            assertEquals(0.5, mean, 5 * Math.sqrt(1.0 / 12 / n), "uniform mean");
            assertEquals(1.0 / 12, var, 5 * Math.sqrt(1.0 / 180 / n), "uniform variance"); // Var[(U - 1/2)^2] = 1/180
        }
    }

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void randNormalStream(Backend b) {
        boolean cpu = b.name().equals("cpu");
        try (Scope s = new Scope(b)) {
            b.setSeed(42);
            Tensor t = s.poison(7, 143); // 1001 elements: ceil(1001 / 2) = 501 counters
            b.randNormal(t, 0.5f, 2f);
            float[] first = b.download(t);
            float[] ref = refNormal(42, 0, 1001, 0.5f, 2f);
            if (cpu) assertArrayEquals(ref, first, "normal = Philox reference (bit-exact on the CPU)");
            else assertClose("normal = Philox reference", toDouble(ref), first, 1e-5, 1e-5);
            assertEquals(501, b.rngOffset());
            Tensor t2 = s.poison(1, 6);
            b.randNormal(t2, 0f, 1f);
            float[] ref2 = refNormal(42, 501, 6, 0f, 1f);
            assertClose("second fill continues at the offset", toDouble(ref2), b.download(t2), cpu ? 0 : 1e-5, cpu ? 0 : 1e-5);
            assertEquals(504, b.rngOffset());
            b.setRngState(42, 0);
            b.randNormal(t, 0.5f, 2f);
            assertArrayEquals(first, b.download(t), "setRngState reproduces");
            // uniform and normal share one stream
            b.setSeed(9);
            b.randUniform(s.zeros(1, 10)); // 3 counters
            b.randNormal(t2, 0f, 1f);
            assertClose("normal after uniform", toDouble(refNormal(9, 3, 6, 0f, 1f)), b.download(t2), cpu ? 0 : 1e-5, cpu ? 0 : 1e-5);
            // statistics over 1e6 draws, standard and shifted/scaled
            Tensor z = s.zeros(1000, 1000);
            for (float[] ms : new float[][] {{0f, 1f}, {3f, 2f}}) {
                b.setSeed(11);
                b.randNormal(z, ms[0], ms[1]);
                float[] a = b.download(z);
                double mean = 0, sq = 0;
                for (float x : a) { mean += x; sq += (double) x * x; }
                int n = a.length;
                mean /= n;
                double std = Math.sqrt(sq / n - mean * mean);
                assertEquals(ms[0], mean, 5 * ms[1] / Math.sqrt(n), "normal mean");
                assertEquals(ms[1], std, 5 * ms[1] / Math.sqrt(2.0 * n), "normal std");
                for (float x : a) assertTrue(Float.isFinite(x), "normal draws are finite");
            }
        }
    }

    // ============================================================================== errors

    @ParameterizedTest @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void shapeMismatchesNameOpAndShapes(Backend b) {
        try (Scope s = new Scope(b)) {
            Tensor x35 = s.zeros(3, 5), x27 = s.zeros(2, 7);
            Map<String, Executable> size = new LinkedHashMap<>();
            size.put("copy", () -> b.copy(x35, x27));
            size.put("axpby", () -> b.axpby(1f, x35, 0f, x27));
            size.put("dot", () -> b.dot(x35, x27, s.zeros(1, 1)));
            for (Map.Entry<String, Executable> e : size.entrySet()) assertShapeError(e.getKey(), e.getValue(), "3x5", "2x7");
            BackendException up = assertThrows(BackendException.class, () -> b.upload(new float[7], x35));
            assertTrue(up.getMessage().contains("3x5") && up.getMessage().contains("7"), up.getMessage());
            BackendException up2 = assertThrows(BackendException.class, () -> b.upload(new float[7], 2, 3));
            assertTrue(up2.getMessage().contains("2x3") && up2.getMessage().contains("7"), up2.getMessage());
            BackendException down = assertThrows(BackendException.class, () -> b.download(x35, new float[7]));
            assertTrue(down.getMessage().contains("3x5") && down.getMessage().contains("7"), down.getMessage());
            assertThrows(BackendException.class, () -> b.zeros(-1, 3));
            assertNotEquals(null, b.description());
        }
    }
}
