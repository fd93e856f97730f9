package org.fishleg.optim.fishleg;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.fishleg.backend.Backend;
import org.fishleg.backend.TestBackends;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.fishleg.testutil.Fixtures;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A full FishLeg training run on CUDA against the CPU backend from the same initial state (Philox
 * initialisation is identical on both), with Gauss-Newton products, both orderings: parameters agree
 * within float32 tolerance over 20 steps, and device memory returns to its starting level.
 * Skipped with a one-line reason where no GPU is usable.
 */
class FishLegCudaTest {

    static final MlpSpec SPEC = MlpSpec.parse("64-48-16:linear-48-64:linear");

    static float[] run(Backend b, FishLegConfig cfg, float[] xs, float[] auxs, int n, int steps) {
        try (Mlp m = new Mlp(b, SPEC, Likelihood.bernoulli());
             Tensor x = b.upload(xs, n, 64); Tensor loss = b.zeros(1, 1);
             Tensor xa = b.upload(auxs, cfg.auxBatchSize, 64)) {
            FishLeg fl = new FishLeg(m, cfg, dst -> b.copy(xa, dst));
            try {
                m.init(17);
                for (int s = 0; s < steps; s++) fl.step(m, x, x, loss);
                assertTrue(Float.isFinite(b.readScalar(loss)));
                return b.download(m.params());
            } finally {
                fl.close();
            }
        }
    }

    @Test
    void cudaTrainingMatchesCpu() {
        Assumptions.assumeTrue(TestBackends.cudaAvailable(), () -> "GPU suite skipped: " + TestBackends.cudaSkipReason());
        Backend cpu = TestBackends.list().get(0), cuda = TestBackends.list().get(1);
        Random r = new Random(3);
        int n = 32;
        float[] xs = new float[n * 64];
        for (int i = 0; i < xs.length; i++) xs[i] = r.nextFloat() < 0.3f ? 1f : 0f;
        for (FishLegConfig base : new FishLegConfig[] {FishLegConfig.defaults(), FishLegConfig.preset("ocaml-mnist")}) {
            FishLegConfig cfg = base.toBuilder().auxBatchSize(16).auxEvery(3).auxLr(1e-3f).build();
            float[] auxs = Fixtures.gaussian(r, 16 * 64, 0.5);
            long before = cuda.bytesInUse();
            float[] a = run(cpu, cfg, xs, auxs, n, 20);
            float[] g = run(cuda, cfg, xs, auxs, n, 20);
            cuda.synchronize();
            assertEquals(before, cuda.bytesInUse(), "device memory back to its starting level");
            double maxAbs = 0, maxErr = 0;
            for (int i = 0; i < a.length; i++) {
                maxAbs = Math.max(maxAbs, Math.abs(a[i]));
                maxErr = Math.max(maxErr, Math.abs(a[i] - g[i]));
            }
            // float32 with different summation orders over 20 steps: stated tolerance 1e-3 of the parameter scale
            assertTrue(maxErr <= 1e-3 * maxAbs, base.ordering + ": CUDA vs CPU parameters differ by " + maxErr + " (scale " + maxAbs + ")");
        }
    }
}
