package org.fishleg.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.fishleg.backend.Activation;
import org.fishleg.backend.BackendException;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.backend.Philox;
import org.fishleg.backend.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * CUDA-specific properties the op-level suite (BackendOpsTest over TestBackends) does not cover:
 * Philox numbers identical to the JVM's, device-side RNG offset advanced by graph replays,
 * bitwise-reproducible reductions, row-major GEMM on views with TF32 off, chunked host copies,
 * overlapping copies, and a caching pool under which a repeated step allocates nothing.
 * Skipped (reason printed once) without a usable GPU; FISHLEG_REQUIRE_GPU=1 makes that a failure.
 */
class CudaBackendGpuTest {
    private CudaBackend b;

    @BeforeEach
    void open() { b = GpuTests.backend(); }

    private static float[] philoxUniform(long seed, long offset, int n) {
        float[] out = new float[n];
        int[] w = new int[4];
        for (int i = 0; i < n; i++) {
            if (i % 4 == 0) Philox.block(seed, offset + i / 4, w);
            out[i] = Philox.uniform(w[i % 4]);
        }
        return out;
    }

    @Test
    void philoxStreamsEqualTheJvmsAndTheOffsetLivesOnTheDevice() {
        b.setSeed(0x1234_5678_9abcL);
        try (Tensor u = b.zeros(7, 143); Tensor z = b.zeros(1, 1001)) {
            b.randUniform(u);
            assertArrayEquals(philoxUniform(0x1234_5678_9abcL, 0, u.size()), b.download(u));
            assertEquals((u.size() + 3) / 4, b.rngOffset());
            long off = b.rngOffset();
            b.randNormal(z, 0.5f, 2f);
            float[] got = b.download(z);
            int[] w = new int[4];
            for (int i = 0; i < z.size(); i++) {
                Philox.block(0x1234_5678_9abcL, off + i / 2, w);
                float e = 0.5f + 2f * Philox.normal(w[2 * (i % 2)], w[2 * (i % 2) + 1]);
                assertEquals(e, got[i], 2e-6f * Math.max(1f, Math.abs(e)), "normal draw " + i);
            }
            assertEquals(off + (z.size() + 1) / 2, b.rngOffset());
            b.setRngState(0x1234_5678_9abcL, 0);
            b.randUniform(u);
            assertArrayEquals(philoxUniform(0x1234_5678_9abcL, 0, u.size()), b.download(u), "restored stream repeats");
        }
    }

    @Test
    void graphReplaysDrawFreshNumbers() {
        b.setSeed(99);
        try (Tensor t = b.zeros(1, 64); Tensor s = b.zeros(1, 1)) {
            long o0 = b.rngOffset();
            try (CudaBackend.Graph g = b.captureGraph(() -> { b.randUniform(t); b.sumSquares(t, s); })) {
                assertEquals(o0, b.rngOffset(), "capture runs nothing");
                g.launch();
                float[] first = b.download(t);
                g.launch();
                float[] second = b.download(t);
                assertArrayEquals(philoxUniform(99, o0, 64), first);
                assertArrayEquals(philoxUniform(99, o0 + 16, 64), second);
                assertFalse(Arrays.equals(first, second));
                assertEquals(o0 + 32, b.rngOffset());
                double ss = 0;
                for (float v : second) ss += (double) v * v;
                assertEquals((float) ss, b.readScalar(s), 1e-5f);
            }
        }
    }

    @Test
    void captureRejectsWhatAGraphCannotHoldAndLeavesTheBackendUsable() {
        try (Tensor t = b.zeros(4, 4); Tensor src = b.zeros(8, 4)) {
            b.fill(t, 2f);
            String[] ops = {"zeros", "upload", "readScalar", "download", "synchronize", "gatherRows", "rngOffset"};
            Runnable[] bad = {
                () -> b.zeros(1, 1),
                () -> b.upload(new float[16], t),
                () -> b.readScalar(t),
                () -> b.download(t),
                () -> b.synchronize(),
                () -> b.gatherRows(src, new int[] {0, 1, 2, 3}, 0, t),
                () -> b.rngOffset(),
            };
            for (int i = 0; i < ops.length; i++) {
                Runnable w = bad[i];
                BackendException e = assertThrows(BackendException.class, () -> b.captureGraph(() -> { b.scale(3f, t); w.run(); }),
                        ops[i]);
                assertTrue(e.getMessage().startsWith(ops[i] + ": not allowed while a CUDA graph is being captured"), ops[i] + ": " + e.getMessage());
            }
            // nothing of the abandoned captures ran, and the stream works normally afterwards
            for (float v : b.download(t)) assertEquals(2f, v);
            try (CudaBackend.Graph g = b.captureGraph(() -> b.scale(3f, t))) {
                for (float v : b.download(t)) assertEquals(2f, v, "capture runs nothing");
                g.launch();
                g.launch();
            }
            for (float v : b.download(t)) assertEquals(18f, v);
        }
    }

    @Test
    void reductionsAreBitwiseReproducibleAndAccurate() {
        b.setSeed(7);
        try (Tensor x = b.zeros(1000, 1003); Tensor out1 = b.zeros(1, 1); Tensor out2 = b.zeros(1, 1)) {
            b.randNormal(x, 0.1f, 1f);
            float[] h = b.download(x);
            double ref = 0;
            for (float v : h) ref += (double) v * v;
            for (int rep = 0; rep < 3; rep++) {
                b.sumSquares(x, out1);
                b.dot(x, x, out2);
                assertEquals(Float.floatToIntBits(b.readScalar(out1)), Float.floatToIntBits(b.readScalar(out2)));
                assertEquals((float) ref, b.readScalar(out1), Math.ulp((float) ref), "double accumulation, rounded once");
            }
        }
    }

    @Test
    void gemmOnViewsIsRowMajorAndFullFp32() {
        Random r = new Random(3);
        int m = 37, n = 29, k = 53;
        for (int combo = 0; combo < 4; combo++) {
            boolean ta = (combo & 1) != 0, tb = (combo & 2) != 0;
            int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
            float[] host = new float[5 + ar * ac + 3 + br * bc + 1];
            for (int i = 0; i < host.length; i++) host[i] = (float) r.nextGaussian();
            try (Tensor buf = b.upload(host, 1, host.length); Tensor c = b.zeros(m + 2, n)) {
                Tensor a = buf.view(5, ar, ac), bb = buf.view(5 + ar * ac + 3, br, bc), cv = c.rowRange(1, m + 1);
                b.fill(c, Float.NaN);
                b.gemm(ta, tb, 1.25f, a, bb, 0f, cv);
                float[] got = b.download(c);
                for (int j = 0; j < n; j++) {
                    assertTrue(Float.isNaN(got[j]), "row above the view untouched");
                    assertTrue(Float.isNaN(got[(m + 1) * n + j]), "row below the view untouched");
                }
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double s = 0;
                        for (int l = 0; l < k; l++) {
                            double av = ta ? host[5 + l * ac + i] : host[5 + i * ac + l];
                            int bo = 5 + ar * ac + 3;
                            double bv = tb ? host[bo + j * bc + l] : host[bo + l * bc + j];
                            s += av * bv;
                        }
                        assertEquals(1.25 * s, got[(i + 1) * n + j], 2e-5 * Math.max(1, Math.abs(s)),
                                "C[" + i + "," + j + "] transA=" + ta + " transB=" + tb + " (TF32 would miss this tolerance)");
                    }
            }
        }
    }

    @Test
    void hostCopiesLargerThanTheStagingBufferAndOverlappingCopies() {
        int n = (1 << 20) * 2 + 77;
        float[] h = new float[n];
        for (int i = 0; i < n; i++) h[i] = i * 0.5f;
        try (Tensor t = b.upload(h, 1, n)) {
            assertArrayEquals(h, b.download(t));
            b.copy(t.view(0, 1, 1000), t.view(10, 1, 1000)); // overlapping: memmove semantics
            float[] got = b.download(t);
            for (int i = 0; i < 1000; i++) assertEquals(i * 0.5f, got[10 + i]);
        }
    }

    @Test
    void repeatedStepAllocatesNothingAndPoolReportsBytes() {
        Runnable step = () -> {
            try (Tensor x = b.zeros(256, 300); Tensor w = b.zeros(300, 100); Tensor h = b.zeros(256, 100);
                 Tensor s = b.zeros(1, 1); Tensor y = b.zeros(256, 100); Tensor g = b.zeros(256, 100)) {
                b.randNormal(x, 0f, 1f);
                b.randNormal(w, 0f, 0.05f);
                b.gemm(false, false, 1f, x, w, 0f, h);
                b.activation(Activation.TANH, h, h);
                b.randUniform(y);
                b.nll(LikelihoodKind.BERNOULLI, h, y, null, s);
                b.nllGrad(LikelihoodKind.BERNOULLI, h, y, null, 1f / 256, g);
                b.sumSquares(g, s);
            }
        };
        step.run();
        long allocs = b.deviceAllocations();
        long held = b.bytesInUse();
        assertTrue(held > 0);
        for (int i = 0; i < 5; i++) step.run();
        assertEquals(allocs, b.deviceAllocations(), "a repeated step is served from the pool");
        assertEquals(held, b.bytesInUse());
        assertTrue(b.cachedBytes() > 0, "closed step tensors stay cached for the next step");
        b.synchronize();
    }

    @Test
    void errorsNameTheOperationAndShapes() {
        try (Tensor a = b.zeros(2, 3); Tensor c = b.zeros(2, 2)) {
            BackendException e = assertThrows(BackendException.class, () -> b.gemm(false, false, 1f, a, a, 0f, c));
            assertTrue(e.getMessage().startsWith("gemm: shape mismatch"), e.getMessage());
        }
    }
}
