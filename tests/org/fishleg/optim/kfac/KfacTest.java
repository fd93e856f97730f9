package org.fishleg.optim.kfac;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.fishleg.backend.Backend;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.backend.Tensor;
import org.fishleg.backend.cpu.CpuBackend;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.fishleg.optim.OptimizerState;
import org.fishleg.optim.Optimizers;
import org.fishleg.testutil.RefMlp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * KFAC's update on a tiny network against an independent double-precision computation written here:
 * forward and back-propagation of the errors, the factors A = [1, h]^T [1, h] / B and
 * G = B Delta^T Delta with their moving averages, the factored Tikhonov split pi, and the direction
 * obtained by solving with the explicitly built (n1 n2) x (n1 n2) Kronecker matrix
 * (A + pi sqrt(gamma) I) (x) (G + sqrt(gamma)/pi I) (Gaussian elimination), never through the
 * production's factor inverses or block code.
 */
class KfacTest {
    static Backend cpu;

    @BeforeAll static void open() { cpu = new CpuBackend(); }
    @AfterAll static void close() { cpu.close(); }

    static final MlpSpec SPEC = MlpSpec.parse("5-4:tanh-3:relu-6:linear");
    static final int B = 7;

    static double[][] randomRows(Random r, int n, int d, boolean binary) {
        double[][] a = new double[n][d];
        for (double[] row : a) for (int j = 0; j < d; j++) row[j] = binary ? (r.nextDouble() < 0.4 ? 1 : 0) : r.nextGaussian();
        return a;
    }

    static float[] flat(double[][] a) {
        float[] f = new float[a.length * a[0].length];
        for (int i = 0; i < a.length; i++) for (int j = 0; j < a[0].length; j++) f[i * a[0].length + j] = (float) a[i][j];
        return f;
    }

    /** Per layer: {A (n1 x n1) / B-averaged, G = B Delta^T Delta} for targets y at parameters p, in double. */
    static double[][][][] factors(RefMlp ref, double[] p, double[][] x, double[][] y) {
        double[][][][] fa = ref.forwardAll(p, x);
        double[][][] pre = fa[0], act = fa[1];
        int nl = SPEC.layers().size();
        double[][][] delta = new double[nl][][];
        double[][] f = act[nl];
        delta[nl - 1] = new double[B][];
        for (int i = 0; i < B; i++) {
            double[] gr = RefMlp.rowGrad(ref.lik.kind, f[i], y[i], ref.lik.sigma);
            delta[nl - 1][i] = new double[gr.length];
            for (int j = 0; j < gr.length; j++)
                delta[nl - 1][i][j] = gr[j] / B * SPEC.layers().get(nl - 1).activation.derivative(pre[nl - 1][i][j]);
        }
        int[] off = new int[nl];
        for (int l = 1; l < nl; l++) off[l] = off[l - 1] + SPEC.layers().get(l - 1).paramCount();
        for (int l = nl - 1; l > 0; l--) {
            MlpSpec.LayerSpec s = SPEC.layers().get(l);
            int wo = off[l] + (s.bias ? s.out : 0);
            delta[l - 1] = new double[B][s.in];
            for (int i = 0; i < B; i++)
                for (int k = 0; k < s.in; k++) {
                    double v = 0;
                    for (int j = 0; j < s.out; j++) v += delta[l][i][j] * p[wo + k * s.out + j];
                    delta[l - 1][i][k] = v * SPEC.layers().get(l - 1).activation.derivative(pre[l - 1][i][k]);
                }
        }
        double[][][][] out = new double[nl][2][][];
        for (int l = 0; l < nl; l++) {
            MlpSpec.LayerSpec s = SPEC.layers().get(l);
            int n1 = s.blockRows(), n2 = s.out;
            double[][] a = new double[n1][n1], g = new double[n2][n2];
            for (int i = 0; i < B; i++) {
                double[] ai = new double[n1];
                int c = 0;
                if (s.bias) ai[c++] = 1;
                for (int k = 0; k < s.in; k++) ai[c++] = act[l][i][k];
                for (int u = 0; u < n1; u++) for (int v = 0; v < n1; v++) a[u][v] += ai[u] * ai[v] / B;
                for (int u = 0; u < n2; u++) for (int v = 0; v < n2; v++) g[u][v] += delta[l][i][u] * delta[l][i][v] * B;
            }
            out[l][0] = a;
            out[l][1] = g;
        }
        return out;
    }

    /** Solves M z = r by Gaussian elimination with partial pivoting (double). */
    static double[] solve(double[][] m, double[] r) {
        int n = r.length;
        double[][] a = new double[n][];
        for (int i = 0; i < n; i++) a[i] = m[i].clone();
        double[] b = r.clone();
        for (int c = 0; c < n; c++) {
            int piv = c;
            for (int i = c + 1; i < n; i++) if (Math.abs(a[i][c]) > Math.abs(a[piv][c])) piv = i;
            double[] t = a[c]; a[c] = a[piv]; a[piv] = t;
            double tb = b[c]; b[c] = b[piv]; b[piv] = tb;
            for (int i = c + 1; i < n; i++) {
                double f = a[i][c] / a[c][c];
                for (int j = c; j < n; j++) a[i][j] -= f * a[c][j];
                b[i] -= f * b[c];
            }
        }
        double[] z = new double[n];
        for (int i = n - 1; i >= 0; i--) {
            double s = b[i];
            for (int j = i + 1; j < n; j++) s -= a[i][j] * z[j];
            z[i] = s / a[i][i];
        }
        return z;
    }

    static double trace(double[][] a) { double s = 0; for (int i = 0; i < a.length; i++) s += a[i][i]; return s; }

    /**
     * Four KFAC steps against the reference: the factor averages after each step (with the warm-up, decay
     * min(1 - 1/(i + 1), decay) at step i), the damped inverses (recomputed at steps 0..inverseEvery with the warm-up,
     * and every inverseEvery steps; with or without the pi split) and the parameters after each step.
     */
    @ParameterizedTest(name = "curvature {0}, inverse every {1}, likelihood {2}, damping split {3}, warm-up {4}")
    @CsvSource({"EMPIRICAL,20,bernoulli,PI,true", "SAMPLED,2,bernoulli,NONE,true", "EMPIRICAL,1,bernoulli,NONE,true", "SAMPLED,1,gaussian,PI,true",
            "SAMPLED,2,softmax,PI,true", "SAMPLED,2,gaussian,NONE,true", "SAMPLED,2,bernoulli,PI,false", "EMPIRICAL,20,softmax,NONE,false"})
    void directionMatchesExplicitKroneckerSolve(KfacConfig.Curvature curv, int every, String lik, KfacConfig.DampingSplit split, boolean warmup) {
        Likelihood likelihood = lik.equals("gaussian") ? Likelihood.gaussian(0.7f) : lik.equals("softmax") ? Likelihood.softmax() : Likelihood.bernoulli();
        RefMlp ref = new RefMlp(SPEC, likelihood);
        Random rnd = new Random(11);
        double[][] x = randomRows(rnd, B, 5, false);
        double[][] y = randomRows(rnd, B, 6, lik.equals("bernoulli"));
        if (lik.equals("softmax")) for (double[] row : y) { java.util.Arrays.fill(row, 0); row[rnd.nextInt(6)] = 1; }
        float lr = 0.3f, mu = 0.9f, wd = 1e-3f, gamma = 0.05f, decay = 0.9f;
        KfacConfig cfg = KfacConfig.builder().lr(lr).momentum(mu).weightDecay(wd).damping(gamma).statDecay(decay)
                .inverseEvery(every).curvature(curv).dampingSplit(split).warmup(warmup).build();
        try (Mlp m = new Mlp(cpu, SPEC, likelihood); Tensor xt = cpu.upload(flat(x), B, 5); Tensor yt = cpu.upload(flat(y), B, 6);
             Tensor loss = cpu.zeros(1, 1)) {
            m.init(5);
            cpu.setSeed(77);
            try (Kfac k = new Kfac(m, cfg)) {
                double[] p = RefMlp.toDouble(cpu.download(m.params()));
                double[] gbar = new double[p.length];
                double[][][][] avg = null;
                double[][][] dampedA = new double[SPEC.layers().size()][][], dampedG = new double[SPEC.layers().size()][][];
                for (int step = 0; step < 4; step++) {
                    boolean inverts = (warmup && step <= every) || step % every == 0;
                    double di = warmup ? Math.min(1.0 - 1.0 / (step + 1), decay) : decay; // (step 0 takes its batch as it is either way)
                    boolean eager = inverts || (warmup && di < decay); // a warm-up decay changes from step to step
                    assertEquals(eager ? null : java.util.List.of(B, lr), k.replayKey(B),
                            "inverting and warm-up steps are not replayable; the others are, per batch size and learning rate");
                    k.step(m, xt, yt, loss);
                    double[][] targets = y;
                    if (curv == KfacConfig.Curvature.SAMPLED) // the targets production drew during this step
                        targets = RefMlp.rows(cpu.download(m.workspace(B).sampled), B, 6);
                    double[][][][] now = factors(ref, p, x, targets);
                    if (avg == null) avg = now;
                    else for (int l = 0; l < now.length; l++) for (int f = 0; f < 2; f++)
                        for (int i = 0; i < now[l][f].length; i++) for (int j = 0; j < now[l][f].length; j++)
                            avg[l][f][i][j] = di * avg[l][f][i][j] + (1 - di) * now[l][f][i][j];
                    double[] g = ref.gradient(p, x, y);
                    for (int i = 0; i < p.length; i++) gbar[i] = mu * gbar[i] + (1 - mu) * (g[i] + wd * p[i]);
                    double[] next = p.clone();
                    long off = 0;
                    for (int l = 0; l < SPEC.layers().size(); l++) {
                        MlpSpec.LayerSpec s = SPEC.layers().get(l);
                        int n1 = s.blockRows(), n2 = s.out;
                        double[][] a = avg[l][0], gg = avg[l][1];
                        assertClose(a, cpu.download(k.factorA(l)), 1e-5, "A average, layer " + l + ", step " + step);
                        assertClose(gg, cpu.download(k.factorG(l)), 1e-5, "G average, layer " + l + ", step " + step);
                        if (inverts) {
                            double pi = split == KfacConfig.DampingSplit.PI ? Math.sqrt((trace(a) / n1) / (trace(gg) / n2)) : 1.0;
                            assertEquals(pi, k.pi(l), 1e-5 * pi, "pi, layer " + l);
                            dampedA[l] = shifted(a, pi * Math.sqrt(gamma));
                            dampedG[l] = shifted(gg, Math.sqrt(gamma) / pi);
                        }
                        // the explicit Kronecker matrix K[(i,j),(u,v)] = A_iu G_jv acting on the row-major block
                        double[][] kron = new double[n1 * n2][n1 * n2];
                        for (int i = 0; i < n1; i++) for (int j = 0; j < n2; j++)
                            for (int u = 0; u < n1; u++) for (int v = 0; v < n2; v++)
                                kron[i * n2 + j][u * n2 + v] = dampedA[l][i][u] * dampedG[l][j][v];
                        double[] rhs = new double[n1 * n2];
                        for (int i = 0; i < n1 * n2; i++) rhs[i] = gbar[(int) off + i];
                        double[] d = solve(kron, rhs);
                        for (int i = 0; i < n1 * n2; i++) next[(int) off + i] = p[(int) off + i] - lr * d[i];
                        off += (long) n1 * n2;
                    }
                    double[] prod = RefMlp.toDouble(cpu.download(m.params()));
                    double[] stepRef = new double[p.length], stepProd = new double[p.length];
                    for (int i = 0; i < p.length; i++) { stepRef[i] = next[i] - p[i]; stepProd[i] = prod[i] - p[i]; }
                    double err = RefMlp.relErr(stepProd, stepRef, 1e-12);
                    assertTrue(err < 2e-4, "step " + step + ": parameter change differs from the explicit Kronecker solve, rel err " + err);
                    p = next;
                    cpu.upload(RefMlp.toFloat(p), m.params()); // continue both from the same point
                }
            }
        }
    }

    static double[][] shifted(double[][] a, double s) {
        double[][] r = new double[a.length][];
        for (int i = 0; i < a.length; i++) { r[i] = a[i].clone(); r[i][i] += s; }
        return r;
    }

    static void assertClose(double[][] ref, float[] got, double tol, String what) {
        int n = ref.length;
        double max = 0, err = 0;
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) {
            max = Math.max(max, Math.abs(ref[i][j]));
            err = Math.max(err, Math.abs(ref[i][j] - got[i * n + j]));
        }
        assertTrue(err <= tol * Math.max(max, 1e-12), what + ": max error " + err + " (max |ref| " + max + ")");
    }

    /** The inverses really are the damped inverses of the averaged factors: (Abar + pi sqrt(gamma) I) Ainv = I. */
    @Test
    void inversesInvertTheDampedFactors() {
        try (Mlp m = new Mlp(cpu, SPEC, Likelihood.bernoulli()); Tensor x = cpu.zeros(B, 5); Tensor y = cpu.zeros(B, 6);
             Tensor loss = cpu.zeros(1, 1); Kfac k = new Kfac(m, KfacConfig.defaults())) {
            m.init(3);
            cpu.randNormal(x, 0f, 1f);
            cpu.randUniform(y);
            k.step(m, x, y, loss);
            for (int l = 0; l < m.layerCount(); l++) {
                check(cpu.download(k.factorA(l)), cpu.download(k.inverseA(l)), k.pi(l) * Math.sqrt(3));
                check(cpu.download(k.factorG(l)), cpu.download(k.inverseG(l)), Math.sqrt(3) / k.pi(l));
            }
        }
    }

    static void check(float[] a, float[] inv, double shift) {
        int n = (int) Math.round(Math.sqrt(a.length));
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += (a[i * n + k] + (i == k ? shift : 0)) * inv[k * n + j];
            assertEquals(i == j ? 1 : 0, s, 1e-4, "(A + shift I) A^-1 at (" + i + ", " + j + ")");
        }
    }

    /** Saving and restoring the state mid-way gives the same parameters as an uninterrupted run, across an inversion. */
    @Test
    void stateRoundTripContinuesExactly() {
        KfacConfig cfg = KfacConfig.builder().inverseEvery(3).lr(0.1f).build();
        float[] straight, resumed;
        try (Mlp m = new Mlp(cpu, SPEC, Likelihood.bernoulli()); Tensor x = cpu.zeros(B, 5); Tensor y = cpu.zeros(B, 6);
             Tensor loss = cpu.zeros(1, 1)) {
            cpu.setSeed(4);
            cpu.randNormal(x, 0f, 1f);
            cpu.randUniform(y);
            m.init(8);
            float[] p0 = cpu.download(m.params());
            OptimizerState mid;
            long rngSeed, rngOffset;
            float[] pMid;
            try (Kfac k = new Kfac(m, cfg)) {
                for (int i = 0; i < 2; i++) k.step(m, x, y, loss);
                mid = k.state();
                pMid = cpu.download(m.params());
                rngSeed = cpu.seed();
                rngOffset = cpu.rngOffset();
                for (int i = 0; i < 4; i++) k.step(m, x, y, loss);
                straight = cpu.download(m.params());
            }
            cpu.upload(pMid, m.params());
            cpu.setRngState(rngSeed, rngOffset);
            try (Kfac k = (Kfac) Optimizers.create("kfac", m, new Optimizers.Options().kfac(cfg), null)) {
                k.loadState(mid);
                assertEquals(2, k.stepCount());
                for (int i = 0; i < 4; i++) k.step(m, x, y, loss);
                resumed = cpu.download(m.params());
            }
            assertFalse(java.util.Arrays.equals(p0, straight));
        }
        assertArrayEquals(straight, resumed);
    }

    /** A state of the wrong size or with unknown arrays is refused with a message naming it. */
    @Test
    void badStateRefused() {
        try (Mlp m = new Mlp(cpu, SPEC, Likelihood.bernoulli()); Kfac k = new Kfac(m, KfacConfig.defaults())) {
            OptimizerState s = k.state();
            s.put("factors", new float[3]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> k.loadState(s));
            assertTrue(e.getMessage().contains("factors"), e.getMessage());
            OptimizerState t = new OptimizerState("adam");
            assertThrows(IllegalArgumentException.class, () -> k.loadState(t));
        }
    }

    /** KFAC fits a small regression problem: the training loss falls by an order of magnitude. */
    @Test
    void learnsATeacher() {
        MlpSpec spec = MlpSpec.parse("6-16:tanh-4:linear");
        try (Mlp teacher = new Mlp(cpu, spec, Likelihood.gaussian(1f)); Mlp m = new Mlp(cpu, spec, Likelihood.gaussian(1f));
             Tensor x = cpu.zeros(200, 6); Tensor loss = cpu.zeros(1, 1)) {
            cpu.setSeed(2);
            teacher.init(1);
            m.init(2);
            cpu.randNormal(x, 0f, 1f);
            Tensor y = teacher.forward(x);
            try (Tensor yc = cpu.zeros(200, 4); Tensor err = cpu.zeros(1, 1);
                 Kfac k = new Kfac(m, KfacConfig.builder().lr(0.5f).damping(1e-2f).inverseEvery(5).build())) {
                cpu.copy(y, yc);
                m.squaredError(x, yc, err);
                double first = cpu.readScalar(err);
                for (int i = 0; i < 150; i++) k.step(m, x, yc, loss);
                m.squaredError(x, yc, err);
                double last = cpu.readScalar(err);
                assertTrue(last < first / 10, "squared error " + first + " -> " + last);
            }
        }
    }

    /**
     * A learned sigma is preconditioned by its exact scalar Fisher, 2 D / sigma^2 per example (D outputs),
     * or 2 D for s = log sigma: the first step moves it by -lr (1 - mu) (g + wd theta) / Fisher.
     */
    @ParameterizedTest
    @CsvSource({"false", "true"})
    void learnedSigmaTakesItsFisherStep(boolean logSigma) {
        Likelihood lik = logSigma ? Likelihood.gaussianLogSigma(0.3f, 1e-4f, 10f) : Likelihood.gaussianLearned(0.3f, 1e-4f, 10f);
        try (Mlp m = new Mlp(cpu, SPEC, lik); Tensor x = cpu.zeros(B, 5); Tensor y = cpu.zeros(B, 6); Tensor loss = cpu.zeros(1, 1);
             Kfac k = new Kfac(m, KfacConfig.defaults())) {
            m.init(4);
            cpu.setSeed(9);
            cpu.randNormal(x, 0f, 1f);
            cpu.randNormal(y, 0f, 1f);
            m.lossAndGradient(x, y, loss);
            double g = cpu.readScalar(m.sigmaElement(m.grads()));
            double s = cpu.readScalar(m.sigmaElement(m.params()));
            double sigma = logSigma ? Math.exp(s) : s;
            KfacConfig c = KfacConfig.defaults();
            double fisher = logSigma ? 2.0 * 6 : 2.0 * 6 / (sigma * sigma);
            double expected = s - c.lr * (1 - c.momentum) * (g + c.weightDecay * s) / fisher;
            k.step(m, x, y, loss);
            double got = cpu.readScalar(m.sigmaElement(m.params()));
            assertEquals(expected, got, 1e-5 * Math.max(1, Math.abs(expected)), "sigma parameter after one step");
            assertNotEquals(s, got, "sigma did not move");
        }
    }

    /**
     * With a learned sigma starting small (the deep linear network's 0.1), KFAC with the dln recipe's pi split and
     * lr 0.1 trains a linear teacher without diverging; a plain gradient step on sigma threw it against its bounds.
     */
    @Test
    void learnedSmallSigmaStaysStable() {
        MlpSpec spec = MlpSpec.parse("8-8:linear-8:linear-8:linear/nobias");
        try (Mlp teacher = new Mlp(cpu, spec, Likelihood.gaussian(1f)); Mlp m = new Mlp(cpu, spec, Likelihood.gaussianLearned(0.1f, 1e-4f, 1f));
             Tensor x = cpu.zeros(40, 8); Tensor yc = cpu.zeros(40, 8); Tensor loss = cpu.zeros(1, 1);
             Kfac k = new Kfac(m, org.fishleg.optim.Recipes.kfacConfig("dln"))) {
            cpu.setSeed(3);
            teacher.init(5);
            m.init(6);
            cpu.randNormal(x, 0f, 1f);
            cpu.copy(teacher.forward(x), yc);
            k.step(m, x, yc, loss);
            double first = cpu.readScalar(loss);
            double last = first;
            for (int i = 0; i < 400; i++) {
                k.step(m, x, yc, loss);
                last = cpu.readScalar(loss);
                assertTrue(Double.isFinite(last), "loss became " + last + " at step " + (i + 1));
            }
            assertTrue(last < first - 50, "loss " + first + " -> " + last);
        }
    }

    /** Non-finite parameters (a diverged run) do not make the inversion throw: the step completes, the loss is NaN for the trainer to stop on. */
    @Test
    void divergedRunReportsNaNLossInsteadOfFailing() {
        try (Mlp m = new Mlp(cpu, SPEC, Likelihood.bernoulli()); Tensor x = cpu.zeros(B, 5); Tensor y = cpu.zeros(B, 6);
             Tensor loss = cpu.zeros(1, 1); Kfac k = new Kfac(m, KfacConfig.builder().inverseEvery(1).build())) {
            m.init(3);
            cpu.randNormal(x, 0f, 1f);
            cpu.randUniform(y);
            k.step(m, x, y, loss);
            float[] invBefore = cpu.download(k.inverseA(1));
            float[] p = cpu.download(m.params());
            java.util.Arrays.fill(p, Float.NaN);
            cpu.upload(p, m.params());
            assertDoesNotThrow(() -> k.step(m, x, y, loss));
            assertTrue(Float.isNaN(cpu.readScalar(loss)));
            assertArrayEquals(invBefore, cpu.download(k.inverseA(1)), "inverse replaced by one of non-finite factors");
        }
    }

    @Test
    void configRangesChecked() {
        assertThrows(IllegalArgumentException.class, () -> KfacConfig.builder().damping(0f).build());
        assertThrows(IllegalArgumentException.class, () -> KfacConfig.builder().inverseEvery(0).build());
        assertThrows(IllegalArgumentException.class, () -> KfacConfig.builder().statDecay(1f).build());
        assertThrows(IllegalArgumentException.class, () -> KfacConfig.builder().lr(Float.NaN).build());
        assertEquals(KfacConfig.Curvature.EMPIRICAL, KfacConfig.Curvature.parse("Empirical"));
        assertThrows(IllegalArgumentException.class, () -> KfacConfig.Curvature.parse("exact"));
    }
}
