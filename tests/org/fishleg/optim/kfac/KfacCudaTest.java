package org.fishleg.optim.kfac;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.fishleg.backend.Backend;
import org.fishleg.backend.TestBackends;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.fishleg.train.StepGraphs;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A KFAC training run on CUDA against the CPU backend from the same initial state and the same sampled
 * targets (Philox is identical on both): 25 steps with inverses every 5, eagerly and with graph replay
 * of the non-inverting steps; parameters agree within float32 tolerance and device memory returns to
 * its starting level. Skipped with a one-line reason where no GPU is usable.
 */
class KfacCudaTest {

    static final MlpSpec SPEC = MlpSpec.parse("64-48-16:linear-48-64:linear");

    static float[] run(Backend b, KfacConfig cfg, float[] xs, int n, int steps, boolean graphs) {
        try (Mlp m = new Mlp(b, SPEC, Likelihood.bernoulli()); Tensor x = b.upload(xs, n, 64); Tensor loss = b.zeros(1, 1);
             Kfac k = new Kfac(m, cfg)) {
            m.init(17);
            b.setSeed(5);
            try (StepGraphs g = new StepGraphs(b, graphs, line -> { throw new AssertionError(line); })) {
                for (int s = 0; s < steps; s++) g.step(k, m, x, x, loss, () -> { });
            }
            assertTrue(Float.isFinite(b.readScalar(loss)));
            return b.download(m.params());
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
        KfacConfig cfg = KfacConfig.builder().inverseEvery(5).lr(0.05f).build();
        float[] a = run(cpu, cfg, xs, n, 25, false);
        for (boolean graphs : new boolean[] {false, true}) {
            long before = cuda.bytesInUse();
            float[] g = run(cuda, cfg, xs, n, 25, graphs);
            cuda.synchronize();
            assertEquals(before, cuda.bytesInUse(), "device memory back to its starting level");
            double maxAbs = 0, maxErr = 0;
            for (int i = 0; i < a.length; i++) {
                maxAbs = Math.max(maxAbs, Math.abs(a[i]));
                maxErr = Math.max(maxErr, Math.abs(a[i] - g[i]));
            }
            // float32 with different summation orders over 25 steps: stated tolerance 1e-3 of the parameter scale
            assertTrue(maxErr <= 1e-3 * maxAbs, "graphs " + graphs + ": CUDA vs CPU parameters differ by " + maxErr + " (scale " + maxAbs + ")");
        }
    }
}
