package org.fishleg.optim.fishleg;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.backend.cpu.CpuBackend;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.fishleg.optim.OptimizerState;
import org.fishleg.testutil.Fixtures;
import org.fishleg.testutil.RefMlp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** FishLeg against explicit matrices and double-precision references on tiny networks. */
class FishLegTest {
    static Backend cpu;

    @BeforeAll static void open() { cpu = new CpuBackend(); }
    @AfterAll static void close() { cpu.close(); }

    /** Cycles deterministically through fixed auxiliary batches. */
    static final class FixedAux implements AuxBatchSource {
        final float[][] batches; int next;
        FixedAux(float[]... batches) { this.batches = batches; }
        @Override public void next(Tensor x) { cpu.upload(batches[next++ % batches.length], x); }
    }

    static final MlpSpec SPEC = MlpSpec.parse("4-5:tanh-3:linear");

    static float[] randomLambda(FishLeg fl, Random r) {
        float[] lam = new float[fl.lambda().size()];
        for (int i = 0; i < lam.length; i++) lam[i] = (float) (0.5 * r.nextGaussian());
        // keep factors well away from singular: add identity
        int off = 0;
        for (int l = 0; l < fl.model().layerCount(); l++) {
            for (Tensor t : new Tensor[] {fl.factorL(l), fl.factorR(l)}) {
                int n = t.rows();
                for (int i = 0; i < n; i++) lam[off + i * n + i] += 1f;
                off += n * n;
            }
        }
        return lam;
    }

    /** Explicit Q = blockdiag(P_l (x) S_l [, lambda^2]) in double from the flat lambda. */
    static double[][] explicitQ(Mlp m, float[] lam) { return explicitQDouble(m, RefMlp.toDouble(lam)); }

    static double[][] sq(float[] a, int off, int n) {
        double[][] r = new double[n][n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) r[i][j] = a[off + i * n + j];
        return r;
    }

    static double[][] mtm(double[][] a) {
        int n = a.length;
        double[][] r = new double[n][n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) { double s = 0; for (int k = 0; k < n; k++) s += a[k][i] * a[k][j]; r[i][j] = s; }
        return r;
    }

    static double dot(double[] a, double[] b) { double s = 0; for (int i = 0; i < a.length; i++) s += a[i] * b[i]; return s; }

    /** A = 1/2 z^T (G + gamma I) z - u^T z, z = Q(lam) u, all in double. */
    static double refAuxLoss(Mlp m, float[] lam, double[][] g, double gamma, double[] u) {
        double[] z = RefMlp.matVec(explicitQ(m, lam), u);
        double[] gz = RefMlp.matVec(g, z);
        for (int i = 0; i < z.length; i++) gz[i] += gamma * z[i];
        return 0.5 * dot(z, gz) - dot(u, z);
    }

    @Test
    void qIsTheExplicitKroneckerProduct() {
        Random r = new Random(1);
        for (Likelihood lik : Fixtures.allLikelihoods()) {
            try (Mlp m = new Mlp(cpu, SPEC, lik); FishLeg fl = new FishLeg(m, FishLegConfig.defaults(), new FixedAux())) {
                float[] lam = randomLambda(fl, r);
                cpu.upload(lam, fl.lambda());
                fl.loadState(stateWithLambda(fl, lam));
                float[] us = Fixtures.gaussian(r, m.paramCount(), 1);
                try (Tensor u = cpu.upload(us, 1, us.length); Tensor out = m.newFlat()) {
                    cpu.fill(out, Float.NaN);
                    fl.applyQ(u, out);
                    double[] want = RefMlp.matVec(explicitQ(m, lam), RefMlp.toDouble(us));
                    double err = RefMlp.relErr(RefMlp.toDouble(cpu.download(out)), want, 1e-3);
                    assertTrue(err < 1e-5, lik + ": Q u vs explicit Kronecker matrix, relative error " + err);
                }
            }
        }
    }

    /** A state whose lambda is lam (moments zero), so that P and S get refreshed. */
    static OptimizerState stateWithLambda(FishLeg fl, float[] lam) {
        OptimizerState s = fl.state();
        s.put("lambda", lam);
        return s;
    }

    @Test
    void lambdaGradientMatchesFiniteDifferencesOfTheAuxiliaryLoss() {
        Random r = new Random(2);
        for (Likelihood lik : Fixtures.allLikelihoods()) {
            int na = 7;
            float[] xa = Fixtures.gaussian(r, na * 4, 1);
            FishLegConfig cfg = FishLegConfig.builder().damping(0.05f).auxBatchSize(na).build();
            try (Mlp m = new Mlp(cpu, SPEC, lik); FishLeg fl = new FishLeg(m, cfg, new FixedAux(xa));
                 Tensor x = cpu.upload(xa, na, 4)) {
                m.init(3);
                float[] lam = randomLambda(fl, r);
                fl.loadState(stateWithLambda(fl, lam));
                float[] us = Fixtures.gaussian(r, m.paramCount(), 1);
                try (Tensor u = cpu.upload(us, 1, us.length)) {
                    cpu.fill(fl.lambdaGradient(), Float.NaN);
                    fl.auxiliaryGradient(x, u);
                    double[] got = RefMlp.toDouble(cpu.download(fl.lambdaGradient()));
                    RefMlp ref = new RefMlp(SPEC, lik);
                    double[][] g = ref.gaussNewton(RefMlp.toDouble(cpu.download(m.params())), RefMlp.rows(xa, na, 4));
                    double[] ud = RefMlp.toDouble(us);
                    double[] fd = new double[lam.length];
                    // central differences in double of the double-precision auxiliary loss
                    double h = 1e-3;
                    for (int i = 0; i < lam.length; i++) {
                        fd[i] = fdAt(m, lam, i, h, g, 0.05, ud);
                    }
                    double err = RefMlp.relErr(got, fd, 1e-3);
                    assertTrue(err < 2e-4, lik + ": lambda gradient vs finite differences, relative error " + err);
                    // and the float auxiliary loss itself equals the double reference
                    double a = fl.auxiliaryLoss(x, u);
                    double aref = refAuxLoss(m, lam, g, 0.05, ud);
                    assertEquals(aref, a, 1e-4 * Math.max(1, Math.abs(aref)));
                }
            }
        }
    }

    /**
     * With preconditionAux the lambda gradient is that of the surrogate w^T Q(lambda) u, w = Q0 d0 held
     * fixed at the current lambda (d0 = (G + gamma I) Q0 u - u): checked against central differences in
     * double of that surrogate, built from the explicit Kronecker matrices and Gauss-Newton matrix.
     */
    @Test
    void preconditionedLambdaGradientMatchesFiniteDifferencesOfTheSurrogate() {
        Random r = new Random(12);
        for (Likelihood lik : Fixtures.allLikelihoods()) {
            int na = 7;
            float[] xa = Fixtures.gaussian(r, na * 4, 1);
            double gamma = 0.05;
            FishLegConfig cfg = FishLegConfig.builder().damping((float) gamma).auxBatchSize(na).preconditionAux(true).build();
            try (Mlp m = new Mlp(cpu, SPEC, lik); FishLeg fl = new FishLeg(m, cfg, new FixedAux(xa));
                 Tensor x = cpu.upload(xa, na, 4)) {
                m.init(5);
                float[] lam = randomLambda(fl, r);
                fl.loadState(stateWithLambda(fl, lam));
                float[] us = Fixtures.gaussian(r, m.paramCount(), 1);
                try (Tensor u = cpu.upload(us, 1, us.length)) {
                    cpu.fill(fl.lambdaGradient(), Float.NaN);
                    fl.auxiliaryGradient(x, u);
                    double[] got = RefMlp.toDouble(cpu.download(fl.lambdaGradient()));
                    RefMlp ref = new RefMlp(SPEC, lik);
                    double[][] g = ref.gaussNewton(RefMlp.toDouble(cpu.download(m.params())), RefMlp.rows(xa, na, 4));
                    double[] ud = RefMlp.toDouble(us);
                    double[][] q0 = explicitQ(m, lam);
                    double[] z0 = RefMlp.matVec(q0, ud);
                    double[] d0 = RefMlp.matVec(g, z0);
                    for (int i = 0; i < d0.length; i++) d0[i] += gamma * z0[i] - ud[i];
                    double[] w = RefMlp.matVec(q0, d0);
                    double[] fd = new double[lam.length];
                    double h = 1e-3;
                    for (int i = 0; i < lam.length; i++) {
                        double[] vals = new double[4];
                        double[] offs = {-2 * h, -h, h, 2 * h};
                        for (int k = 0; k < 4; k++) {
                            double[] ld = RefMlp.toDouble(lam);
                            ld[i] += offs[k];
                            vals[k] = dot(w, RefMlp.matVec(explicitQDouble(m, ld), ud));
                        }
                        fd[i] = (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * h);
                    }
                    double err = RefMlp.relErr(got, fd, 1e-3);
                    assertTrue(err < 2e-4, lik + ": preconditioned lambda gradient vs finite differences of the surrogate, relative error " + err);
                    // and it is not the plain auxiliary gradient (the test would pass vacuously if Q were ignored)
                    FishLegConfig plain = cfg.toBuilder().preconditionAux(false).build();
                    try (FishLeg fp = new FishLeg(m, plain, new FixedAux(xa))) {
                        fp.loadState(stateWithLambda(fp, lam));
                        fp.auxiliaryGradient(x, u);
                        double diff = RefMlp.relErr(RefMlp.toDouble(cpu.download(fp.lambdaGradient())), got, 1e-3);
                        assertTrue(diff > 1e-2, lik + ": preconditioned gradient equals the plain one (relative difference " + diff + ")");
                    }
                }
            }
        }
    }

    /** Explicit Q from a double lambda vector (for finite differences below float resolution). */
    static double[][] explicitQDouble(Mlp m, double[] ld) {
        int n = m.paramCount();
        double[][] q = new double[n][n];
        int off = 0, poff = 0;
        for (int l = 0; l < m.layerCount(); l++) {
            int n1 = m.layer(l).blockRows(), n2 = m.layer(l).out;
            double[][] L = new double[n1][n1], R = new double[n2][n2];
            for (int a = 0; a < n1; a++) for (int c = 0; c < n1; c++) L[a][c] = ld[off + a * n1 + c];
            off += n1 * n1;
            for (int a = 0; a < n2; a++) for (int c = 0; c < n2; c++) R[a][c] = ld[off + a * n2 + c];
            off += n2 * n2;
            double[][] P = mtm(L), S = mtm(R);
            for (int a = 0; a < n1; a++) for (int j = 0; j < n2; j++)
                for (int c = 0; c < n1; c++) for (int e = 0; e < n2; e++)
                    q[poff + a * n2 + j][poff + c * n2 + e] = P[a][c] * S[e][j];
            poff += n1 * n2;
        }
        if (m.hasSigmaParam()) q[n - 1][n - 1] = ld[off] * ld[off];
        return q;
    }

    /**
     * --q-init kfac: after the first step, L is lower triangular with L^T L (Abar + sqrt(gamma) I) = I and
     * R^T R (Gbar + sqrt(gamma) I) = I, Abar and Gbar rebuilt in double from the same batch and the same
     * sampled targets (same RNG stream on a twin model); and that first step already used this Q:
     * theta_1 = theta_0 - lr (1 - beta) P G S per layer.
     */
    @Test
    void kfacStartSetsTheFactorsToKfacsDampedInversesBeforeTheFirstStep() {
        Random r = new Random(21);
        int n = 6;
        double gamma = 0.09;
        float[] xs = Fixtures.gaussian(r, n * 4, 1);
        for (Likelihood lik : new Likelihood[] {Likelihood.bernoulli(), Likelihood.gaussian(1f)}) {
            float[] ys = Fixtures.targets(r, lik, n, 3);
            FishLegConfig cfg = FishLegConfig.preset("mnist-ae").toBuilder().auxLr(0f).damping((float) gamma)
                    .qInit(FishLegConfig.QInit.KFAC).build();
            try (Mlp m = new Mlp(cpu, SPEC, lik); Mlp twin = new Mlp(cpu, SPEC, lik); FishLeg fl = new FishLeg(m, cfg, new FixedAux());
                 Tensor x = cpu.upload(xs, n, 4); Tensor y = cpu.upload(ys, n, 3); Tensor loss = cpu.zeros(1, 1)) {
                m.init(4);
                twin.init(4);
                double[] theta0 = RefMlp.toDouble(cpu.download(m.params()));
                assertNull(fl.replayKey(n), "the first step factorises on the host: not replayable");
                cpu.setSeed(77);
                fl.step(m, x, y, loss);
                assertNotNull(fl.replayKey(n), "later steps are replayable again");
                // the twin: same forward, same sampled targets
                cpu.setSeed(77);
                twin.lossAndGradient(x, y, loss, twin.grads());
                double[] g = RefMlp.toDouble(cpu.download(twin.grads()));
                Mlp.Workspace ws = twin.workspace(n);
                float[][] inputs = new float[twin.layerCount()][];
                for (int l = 0; l < twin.layerCount(); l++) inputs[l] = cpu.download(Mlp.input(ws, x, l));
                twin.sampledErrors(ws);
                double[] theta1 = RefMlp.toDouble(cpu.download(m.params()));
                int poff = 0;
                for (int l = 0; l < m.layerCount(); l++) {
                    int n1 = m.layer(l).blockRows(), n2 = m.layer(l).out;
                    float[] delta = cpu.download(ws.d[l]);
                    double[][] a = new double[n1][n1], gg = new double[n2][n2];
                    for (int k = 0; k < n; k++) {
                        double[] row = new double[n1];
                        row[0] = 1;
                        for (int i = 1; i < n1; i++) row[i] = inputs[l][k * (n1 - 1) + i - 1];
                        for (int i = 0; i < n1; i++) for (int j = 0; j < n1; j++) a[i][j] += row[i] * row[j] / n;
                        for (int i = 0; i < n2; i++) for (int j = 0; j < n2; j++) gg[i][j] += (double) n * delta[k * n2 + i] * delta[k * n2 + j];
                    }
                    double[][] lf = sq(cpu.download(fl.factorL(l)), 0, n1), rf = sq(cpu.download(fl.factorR(l)), 0, n2);
                    for (int i = 0; i < n1; i++) for (int j = i + 1; j < n1; j++) assertEquals(0.0, lf[i][j], lik + ": L above its diagonal");
                    double[][] p = mtm(lf), sm = mtm(rf);
                    assertTrue(inverseError(p, a, Math.sqrt(gamma)) < 1e-4, lik + " layer " + l + ": P (Abar + sqrt(gamma) I) != I: " + inverseError(p, a, Math.sqrt(gamma)));
                    assertTrue(inverseError(sm, gg, Math.sqrt(gamma)) < 1e-4, lik + " layer " + l + ": S (Gbar + sqrt(gamma) I) != I: " + inverseError(sm, gg, Math.sqrt(gamma)));
                    // theta_1 - theta_0 = -lr (1 - beta) P G S on this layer's block
                    double scale = cfg.lr * (1 - cfg.beta);
                    double worst = 0, big = 0;
                    for (int i = 0; i < n1; i++) for (int j = 0; j < n2; j++) {
                        double v = 0;
                        for (int k1 = 0; k1 < n1; k1++) for (int k2 = 0; k2 < n2; k2++) v += p[i][k1] * g[poff + k1 * n2 + k2] * sm[k2][j];
                        double want = theta0[poff + i * n2 + j] - scale * v;
                        worst = Math.max(worst, Math.abs(theta1[poff + i * n2 + j] - want));
                        big = Math.max(big, Math.abs(scale * v));
                    }
                    assertTrue(worst <= 1e-4 * big + 1e-6, lik + " layer " + l + ": first step is not theta - lr (1 - beta) P G S: " + worst + " (step " + big + ")");
                    poff += n1 * n2;
                }
            }
        }
        // what it cannot start from
        assertThrows(IllegalArgumentException.class, () -> FishLegConfig.preset("ocaml-mnist").toBuilder().damping(0.1f).qInit("kfac").build());
        assertThrows(IllegalArgumentException.class, () -> FishLegConfig.preset("mnist-ae").toBuilder().damping(0f).qInit("kfac").build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FishLegConfig.builder().qInit("eye"));
        assertTrue(e.getMessage().contains("identity or kfac"), e.getMessage());
    }

    /**
     * --q-init kfac with --q-init-steps K and the JAX ordering (momentum on the gradient, then Q): for the first K steps
     * FishLeg is KFAC in the benchmark form with its warm-up (running means with decay min(1 - 1/(k+1), 0.9), damping
     * sqrt(gamma) on each factor, inverses every step), step for step on the same batches and sampled targets; from step
     * K on, with the auxiliary loss off, FishLeg keeps Q while KFAC re-estimates it, so the two part. A state saved
     * in the middle of the warm-up carries the running means: resumed, it continues exactly.
     */
    @Test
    void kfacStartPresetIsTheConfigurationOfTheDocumentedRuns() {
        // the configuration line of `scripts/run-kfac-start.sh mnist` (docs/RESULTS.md, MNIST, "FishLeg started from
        // KFAC's warm-up"): fishleg train --model mnist-ae --batch-size 1000 --q-init kfac --q-init-steps 21 --lr 1
        // --damping 3 --aux-lr 1e-4 --ordering momentum-on-gradient
        assertEquals("lr=1.00000 s=3.00000 aux_lr=0.000100000 aux_betas=(0.900000,0.999000) aux_eps=0.000100000 aux_wd=0.00100000 "
                + "damping=3.00000 beta=0.900000 wd=0.00000(decoupled) aux_every=10 aux_at_0=true aux_batch=10 factor=full "
                + "ordering=momentum_on_gradient u=current_gradient fisher=gauss_newton low_rank=true max_step_norm=0.00000 "
                + "q_init=kfac(steps=21)", FishLegConfig.preset("mnist-ae-kfac-start").toString());
        assertTrue(FishLegConfig.presets().containsKey("mnist-ae-kfac-start"));
        assertEquals(FishLegConfig.preset("mnist-ae-kfac-start").toString(), FishLegConfig.preset("MNIST-AE-KFAC-START").toString());
        // CURVES (docs/RESULTS.md, CURVES): `LR=0.3 scripts/run-kfac-start.sh curves DIR 400 e20 --q-init-every 20`, i.e.
        // fishleg train --model curves-ae --q-init kfac --q-init-steps 400 --q-init-every 20 --lr 0.3 --damping 1 --aux-lr 1e-4
        // --ordering momentum-on-gradient
        assertEquals("lr=0.300000 s=3.00000 aux_lr=0.000100000 aux_betas=(0.900000,0.999000) aux_eps=0.000100000 aux_wd=0.00100000 "
                + "damping=1.00000 beta=0.900000 wd=0.00000(decoupled) aux_every=10 aux_at_0=true aux_batch=10 factor=full "
                + "ordering=momentum_on_gradient u=current_gradient fisher=gauss_newton low_rank=true max_step_norm=0.00000 "
                + "q_init=kfac(steps=400,every=20)", FishLegConfig.preset("curves-ae-kfac-start").toString());
        assertTrue(FishLegConfig.presets().containsKey("curves-ae-kfac-start"));
    }

    @Test
    void kfacWarmStartIsKfacForItsFirstSteps() {
        Random r = new Random(23);
        int n = 6, k = 4;
        float gamma = 0.09f, lr = 0.5f;
        for (Likelihood lik : new Likelihood[] {Likelihood.bernoulli(), Likelihood.gaussian(1f)}) {
            float[][] xs = new float[k + 2][], ys = new float[k + 2][];
            for (int i = 0; i < k + 2; i++) {
                xs[i] = Fixtures.gaussian(r, n * 4, 1);
                ys[i] = Fixtures.targets(r, lik, n, 3);
            }
            FishLegConfig cfg = FishLegConfig.preset("mnist-ae").toBuilder().auxLr(0f).damping(gamma).lr(lr)
                    .ordering(FishLegConfig.Ordering.MOMENTUM_ON_GRADIENT).weightDecay(0f)
                    .qInit(FishLegConfig.QInit.KFAC).qInitSteps(k).build();
            org.fishleg.optim.kfac.KfacConfig kc = org.fishleg.optim.kfac.KfacConfig.defaults().toBuilder().lr(lr).damping(gamma)
                    .momentum(cfg.beta).weightDecay(0f).build();
            OptimizerState mid = null;
            float[] thetaMid = null, thetaK = null;
            try (Mlp m = new Mlp(cpu, SPEC, lik); Mlp twin = new Mlp(cpu, SPEC, lik); FishLeg fl = new FishLeg(m, cfg, new FixedAux());
                 org.fishleg.optim.kfac.Kfac kfac = new org.fishleg.optim.kfac.Kfac(twin, kc); Tensor loss = cpu.zeros(1, 1)) {
                m.init(4);
                twin.init(4);
                for (int i = 0; i < k + 2; i++) {
                    if (i < k) assertNull(fl.replayKey(n), "warm-up step " + i + " factorises on the host: not replayable");
                    else assertNotNull(fl.replayKey(n), "step " + i + " is past the warm-up");
                    double[] ds = stepBothAndCompare(fl, m, kfac, twin, xs[i], ys[i], n, 300 + i, loss);
                    double diff = ds[0], size = ds[1];
                    float[] a = cpu.download(m.params());
                    if (i < k) assertTrue(diff <= 2e-5 * size, lik + " step " + i + ": FishLeg's warm-up is not KFAC: " + diff);
                    else assertTrue(diff > 1e-3 * size, lik + " step " + i + ": FishLeg still follows KFAC's new inverses: " + diff);
                    if (i == 1) {
                        mid = fl.state();
                        thetaMid = a;
                        assertTrue(mid.arrays().containsKey("q_init_stats"), "the state in the warm-up carries the running means");
                    }
                    if (i == k - 1) thetaK = a;
                }
                assertFalse(fl.state().arrays().containsKey("q_init_stats"), "past the warm-up the running means are not state");
            }
            // resume from the state after step 1: steps 2 .. k-1 again, the same parameters
            try (Mlp m = new Mlp(cpu, SPEC, lik); FishLeg fl = new FishLeg(m, cfg, new FixedAux()); Tensor loss = cpu.zeros(1, 1)) {
                cpu.upload(thetaMid, m.params());
                fl.loadState(mid);
                for (int i = 2; i < k; i++)
                    try (Tensor x = cpu.upload(xs[i], n, 4); Tensor y = cpu.upload(ys[i], n, 3)) {
                        cpu.setSeed(300 + i);
                        fl.step(m, x, y, loss);
                    }
                assertArrayEquals(thetaK, cpu.download(m.params()), lik + ": resumed in the warm-up");
            }
            // a state in the warm-up without the running means is refused
            OptimizerState bare = new OptimizerState("fishleg");
            for (var e : mid.arrays().entrySet()) if (!e.getKey().equals("q_init_stats")) bare.put(e.getKey(), e.getValue());
            bare.put("step", mid.number("step")).put("aux_steps", mid.number("aux_steps"));
            try (Mlp m = new Mlp(cpu, SPEC, lik); FishLeg fl = new FishLeg(m, cfg, new FixedAux())) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fl.loadState(bare));
                assertTrue(e.getMessage().contains("lacks the running-mean factors"), e.getMessage());
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FishLegConfig.preset("mnist-ae").toBuilder().qInitSteps(3).build());
        assertTrue(e.getMessage().contains("needs --q-init kfac"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FishLegConfig.preset("mnist-ae").toBuilder().damping(1f).qInit("kfac").qInitSteps(0).build());
        assertTrue(FishLegConfig.preset("mnist-ae").toBuilder().damping(1f).qInit("kfac").qInitSteps(120).build().toString()
                .endsWith("q_init=kfac(steps=120)"));
    }

    /**
     * With --q-init-every N the start factorises on KFAC's schedule of inverses (steps 0..N, then every N-th), so a start
     * longer than N + 1 steps is still KFAC step for step; factorising every step (the default) departs from that KFAC at
     * the first step where KFAC keeps its old inverses.
     */
    @Test
    void kfacStartOnKfacsInverseScheduleIsKfacForAllItsSteps() {
        Random r = new Random(29);
        int n = 6, k = 7, every = 2;
        float gamma = 0.09f, lr = 0.5f;
        for (Likelihood lik : new Likelihood[] {Likelihood.bernoulli(), Likelihood.gaussian(1f)}) {
            float[][] xs = new float[k][], ys = new float[k][];
            for (int i = 0; i < k; i++) {
                xs[i] = Fixtures.gaussian(r, n * 4, 1);
                ys[i] = Fixtures.targets(r, lik, n, 3);
            }
            org.fishleg.optim.kfac.KfacConfig kc = org.fishleg.optim.kfac.KfacConfig.defaults().toBuilder().lr(lr).damping(gamma)
                    .momentum(0.9f).weightDecay(0f).inverseEvery(every).build();
            for (int qEvery : new int[] {every, 1}) {
                FishLegConfig cfg = FishLegConfig.preset("mnist-ae").toBuilder().auxLr(0f).damping(gamma).lr(lr)
                        .ordering(FishLegConfig.Ordering.MOMENTUM_ON_GRADIENT).weightDecay(0f)
                        .qInit(FishLegConfig.QInit.KFAC).qInitSteps(k).qInitEvery(qEvery).build();
                assertEquals(0.9f, cfg.beta);
                try (Mlp m = new Mlp(cpu, SPEC, lik); Mlp twin = new Mlp(cpu, SPEC, lik); FishLeg fl = new FishLeg(m, cfg, new FixedAux());
                     org.fishleg.optim.kfac.Kfac kfac = new org.fishleg.optim.kfac.Kfac(twin, kc); Tensor loss = cpu.zeros(1, 1)) {
                    m.init(4);
                    twin.init(4);
                    for (int i = 0; i < k; i++) {
                        double[] ds = stepBothAndCompare(fl, m, kfac, twin, xs[i], ys[i], n, 300 + i, loss);
                        double diff = ds[0], size = ds[1];
                        // KFAC inverts at steps 0, 1, 2, 4, 6: the eager start first differs after step 3
                        if (qEvery == every || i < 3)
                            assertTrue(diff <= 2e-5 * size, lik + " every " + qEvery + " step " + i + ": the start is not KFAC: " + diff);
                        else if (i == 3)
                            assertTrue(diff > 1e-4 * size, lik + " step 3: factorising every step still matches KFAC's stale inverses: " + diff);
                    }
                }
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FishLegConfig.preset("mnist-ae").toBuilder().qInitEvery(20).build());
        assertTrue(e.getMessage().contains("needs --q-init kfac"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> FishLegConfig.preset("mnist-ae").toBuilder().damping(1f).qInit("kfac").qInitSteps(9).qInitEvery(0).build());
        assertTrue(FishLegConfig.preset("mnist-ae").toBuilder().damping(1f).qInit("kfac").qInitSteps(300).qInitEvery(20).build().toString()
                .endsWith("q_init=kfac(steps=300,every=20)"));
    }

    /**
     * One step of FishLeg on m and of KFAC on twin on the same batch and the same sampled targets (backend seed set
     * before each).
     * @return {max |theta_m - theta_twin|, max |theta_twin|} after the steps
     */
    static double[] stepBothAndCompare(FishLeg fl, Mlp m, org.fishleg.optim.kfac.Kfac kfac, Mlp twin, float[] xs, float[] ys, int n,
                                       long seed, Tensor loss) {
        try (Tensor x = cpu.upload(xs, n, 4); Tensor y = cpu.upload(ys, n, 3)) {
            cpu.setSeed(seed);
            fl.step(m, x, y, loss);
            cpu.setSeed(seed);
            kfac.step(twin, x, y, loss);
        }
        float[] a = cpu.download(m.params()), b = cpu.download(twin.params());
        double diff = 0, size = 0;
        for (int j = 0; j < a.length; j++) {
            diff = Math.max(diff, Math.abs(a[j] - b[j]));
            size = Math.max(size, Math.abs(b[j]));
        }
        return new double[] {diff, size};
    }

    /** max |M (F + shift I) - I| in double. */
    static double inverseError(double[][] m, double[][] f, double shift) {
        int n = m.length;
        double worst = 0;
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += m[i][k] * (f[k][j] + (k == j ? shift : 0));
            worst = Math.max(worst, Math.abs(s - (i == j ? 1 : 0)));
        }
        return worst;
    }

    /** Central difference of refAuxLoss in lambda[i] with lambda held in double. */
    static double fdAt(Mlp m, float[] lam, int i, double h, double[][] g, double gamma, double[] u) {
        // the aux loss is a polynomial (degree <= 8) in lambda_i: 4-point stencil is exact to O(h^4)
        double[] vals = new double[4];
        double[] offs = {-2 * h, -h, h, 2 * h};
        for (int k = 0; k < 4; k++) vals[k] = auxLossDouble(m, lam, i, offs[k], g, gamma, u);
        return (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * h);
    }

    static double auxLossDouble(Mlp m, float[] lam, int i, double delta, double[][] g, double gamma, double[] u) {
        double[] ld = RefMlp.toDouble(lam);
        ld[i] += delta;
        double[] z = RefMlp.matVec(explicitQDouble(m, ld), u);
        double[] gz = RefMlp.matVec(g, z);
        for (int k = 0; k < z.length; k++) gz[k] += gamma * z[k];
        return 0.5 * dot(z, gz) - dot(u, z);
    }

    @Test
    void firstStepIsAnSgdStepWithRateEtaTimesS() {
        Random r = new Random(4);
        int n = 8;
        float[] xs = Fixtures.gaussian(r, n * 4, 1);
        float[] ys = Fixtures.targets(r, Likelihood.bernoulli(), n, 3);
        for (FishLegConfig.Ordering ord : FishLegConfig.Ordering.values()) {
            FishLegConfig cfg = FishLegConfig.builder().lr(0.05f).initScale(0.2f).beta(0.9f).weightDecay(0f)
                    .auxAtStepZero(false).ordering(ord).auxDirection(FishLegConfig.AuxDirection.CURRENT_GRADIENT).build();
            try (Mlp m = new Mlp(cpu, SPEC, Likelihood.bernoulli()); FishLeg fl = new FishLeg(m, cfg, new FixedAux(xs));
                 Tensor x = cpu.upload(xs, n, 4); Tensor y = cpu.upload(ys, n, 3); Tensor loss = cpu.zeros(1, 1)) {
                m.init(5);
                float[] p0 = cpu.download(m.params());
                m.lossAndGradient(x, y, loss);
                float[] g0 = cpu.download(m.grads());
                fl.step(m, x, y, loss);
                float[] p1 = cpu.download(m.params());
                // SGD-momentum (EMA form) first step with rate eta * s: p0 - eta s (1 - beta) g0
                double[] want = new double[p0.length];
                for (int i = 0; i < p0.length; i++) want[i] = p0[i] - 0.05 * 0.2 * (1 - 0.9) * g0[i];
                // equal up to float32 rounding of the parameters (a few ulps), and the step is far larger than that
                double maxAbs = 0, maxErr = 0, maxStep = 0;
                for (int i = 0; i < p0.length; i++) {
                    maxAbs = Math.max(maxAbs, Math.abs(p0[i]));
                    maxErr = Math.max(maxErr, Math.abs(p1[i] - want[i]));
                    maxStep = Math.max(maxStep, Math.abs(want[i] - p0[i]));
                }
                double ulps = maxErr / Math.ulp((float) maxAbs);
                assertTrue(ulps <= 4, ord + ": first FishLeg step vs SGD step differs by " + ulps + " ulps");
                assertTrue(maxStep > 1000 * Math.ulp((float) maxAbs), "the step is not trivially small");
            }
        }
    }

    @Test
    void stepSafeguardScalesQgDownToTheBoundAndLeavesSmallStepsAlone() {
        // first step: Q_0 = s I. The clipped vector is Q g0 = s g0 (OCaml ordering: it then enters the
        // momentum with weight 1 - beta) or Q gbar = s (1 - beta) g0 (JAX ordering: it is the step)
        Random r = new Random(6);
        int n = 8;
        float[] xs = Fixtures.gaussian(r, n * 4, 1);
        float[] ys = Fixtures.targets(r, Likelihood.bernoulli(), n, 3);
        float lr = 0.05f, s = 0.2f, beta = 0.9f;
        for (FishLegConfig.Ordering ord : FishLegConfig.Ordering.values())
            for (double frac : new double[] {0.3, 10}) {
                try (Mlp m = new Mlp(cpu, SPEC, Likelihood.bernoulli());
                     Tensor x = cpu.upload(xs, n, 4); Tensor y = cpu.upload(ys, n, 3); Tensor loss = cpu.zeros(1, 1)) {
                    m.init(5);
                    float[] p0 = cpu.download(m.params());
                    m.lossAndGradient(x, y, loss);
                    float[] g0 = cpu.download(m.grads());
                    double gn = 0;
                    for (float v : g0) gn += v * (double) v;
                    gn = Math.sqrt(gn);
                    boolean jax = ord == FishLegConfig.Ordering.MOMENTUM_ON_GRADIENT;
                    double qn = jax ? s * (1 - (double) beta) * gn : s * gn; // ||clipped vector|| before clipping
                    float t = (float) (frac * qn);
                    FishLegConfig cfg = FishLegConfig.builder().lr(lr).initScale(s).beta(beta).weightDecay(0f)
                            .auxAtStepZero(false).ordering(ord).auxDirection(FishLegConfig.AuxDirection.CURRENT_GRADIENT)
                            .maxStepNorm(t).build();
                    try (FishLeg fl = new FishLeg(m, cfg, new FixedAux(xs))) {
                        fl.step(m, x, y, loss);
                    }
                    float[] p1 = cpu.download(m.params());
                    double k = Math.min(1, t / qn);
                    double maxAbs = 0, maxErr = 0, stepSq = 0;
                    for (int i = 0; i < p0.length; i++) {
                        double want = p0[i] - lr * (1 - (double) beta) * k * s * g0[i];
                        maxAbs = Math.max(maxAbs, Math.abs(p0[i]));
                        maxErr = Math.max(maxErr, Math.abs(p1[i] - want));
                        stepSq += (p1[i] - (double) p0[i]) * (p1[i] - (double) p0[i]);
                    }
                    double ulps = maxErr / Math.ulp((float) maxAbs);
                    assertTrue(ulps <= 4, ord + ", T = " + frac + " |Q g|: step differs from the clipped SGD step by " + ulps + " ulps");
                    double bound = lr * (jax ? 1 : 1 - (double) beta) * t;
                    assertTrue(Math.sqrt(stepSq) <= bound * (1 + 1e-4), "step norm " + Math.sqrt(stepSq) + " above lr (1-beta) T = " + bound);
                    if (frac < 1) assertEquals(bound, Math.sqrt(stepSq), 1e-3 * bound, "a clipped step has norm lr (1-beta) T");
                }
            }
    }

    @Test
    void decoupledWeightDecayUsesTheParametersBeforeTheStep() {
        // fishleg-algorithm.md section 4: theta -= eta (m + wd theta) with theta before the update, so the
        // step has no eta^2 wd m term (decaying after the update would add one)
        Random r = new Random(5);
        int n = 8;
        float[] xs = Fixtures.gaussian(r, n * 4, 1);
        float[] ys = Fixtures.targets(r, Likelihood.bernoulli(), n, 3);
        float lr = 0.5f, s = 0.2f, beta = 0.9f, wd = 0.5f;
        for (FishLegConfig.Ordering ord : FishLegConfig.Ordering.values()) {
            FishLegConfig cfg = FishLegConfig.builder().lr(lr).initScale(s).beta(beta).weightDecay(wd)
                    .decoupledWeightDecay(true).auxAtStepZero(false).ordering(ord)
                    .auxDirection(FishLegConfig.AuxDirection.CURRENT_GRADIENT).build();
            try (Mlp m = new Mlp(cpu, SPEC, Likelihood.bernoulli()); FishLeg fl = new FishLeg(m, cfg, new FixedAux(xs));
                 Tensor x = cpu.upload(xs, n, 4); Tensor y = cpu.upload(ys, n, 3); Tensor loss = cpu.zeros(1, 1)) {
                m.init(5);
                float[] p0 = cpu.download(m.params());
                m.lossAndGradient(x, y, loss);
                float[] g0 = cpu.download(m.grads());
                fl.step(m, x, y, loss);
                float[] p1 = cpu.download(m.params());
                // Q_0 = s I: the (EMA) momentum after one step is (1 - beta) s g0 in both orderings
                double maxAbs = 0, maxErr = 0;
                for (int i = 0; i < p0.length; i++) {
                    double want = p0[i] - (double) lr * ((1 - (double) beta) * s * g0[i] + (double) wd * p0[i]);
                    maxAbs = Math.max(maxAbs, Math.abs(p0[i]));
                    maxErr = Math.max(maxErr, Math.abs(p1[i] - want));
                }
                double ulps = maxErr / Math.ulp((float) maxAbs);
                assertTrue(ulps <= 4, ord + ": decoupled weight decay step differs from theta - eta (m + wd theta) by "
                        + ulps + " ulps of the largest parameter");
            }
        }
    }

    @Test
    void lowRankPathEqualsDensePath() {
        for (boolean pre : new boolean[] {false, true}) lowRankPathEqualsDensePath(pre);
    }

    private void lowRankPathEqualsDensePath(boolean preconditionAux) {
        // wide layers and a small batch, so that the low-rank products are the cheaper ones
        MlpSpec spec = MlpSpec.parse("20-30:tanh-10:linear");
        Random r = new Random(6);
        int n = 4, na = 3;
        float[] xs = Fixtures.gaussian(r, n * 20, 1), ys = Fixtures.targets(r, Likelihood.bernoulli(), n, 10);
        float[] xa1 = Fixtures.gaussian(r, na * 20, 1), xa2 = Fixtures.gaussian(r, na * 20, 1);
        float[][] results = new float[2][];
        float[][] grads = new float[2][];
        for (int k = 0; k < 2; k++) {
            FishLegConfig cfg = FishLegConfig.preset("ocaml-mnist").toBuilder().auxBatchSize(na).auxEvery(2)
                    .auxLr(0.05f).weightDecay(1e-3f).lowRank(k == 0).preconditionAux(preconditionAux).build();
            try (Mlp m = new Mlp(cpu, spec, Likelihood.bernoulli()); FishLeg fl = new FishLeg(m, cfg, new FixedAux(xa1, xa2));
                 Tensor x = cpu.upload(xs, n, 20); Tensor y = cpu.upload(ys, n, 10); Tensor loss = cpu.zeros(1, 1)) {
                assertEquals(k == 0, fl.lowRankApplies(n), "low-rank path chosen");
                m.init(9);
                for (int s = 0; s < 5; s++) fl.step(m, x, y, loss);
                results[k] = cpu.download(m.params());
                grads[k] = cpu.download(fl.lambdaGradient());
            }
        }
        double e1 = RefMlp.relErr(RefMlp.toDouble(grads[0]), RefMlp.toDouble(grads[1]), 1e-6);
        assertTrue(e1 < 1e-4, "low-rank vs dense lambda gradient (precondition " + preconditionAux + "): " + e1);
        double e2 = RefMlp.relErr(RefMlp.toDouble(results[0]), RefMlp.toDouble(results[1]), 1e-6);
        assertTrue(e2 < 1e-5, "low-rank vs dense parameters after 5 steps (precondition " + preconditionAux + "): " + e2);
        // and the low-rank path is not chosen where it costs more (batch larger than the layers)
        try (Mlp m = new Mlp(cpu, spec, Likelihood.bernoulli());
             FishLeg fl = new FishLeg(m, FishLegConfig.preset("ocaml-mnist").toBuilder().auxBatchSize(na).build(), new FixedAux(xa1))) {
            assertFalse(fl.lowRankApplies(200));
        }
    }

    @Test
    void triangularFactorsStayTriangular() {
        Random r = new Random(7);
        int n = 5;
        float[] xs = Fixtures.gaussian(r, n * 4, 1), ys = Fixtures.targets(r, Likelihood.bernoulli(), n, 3);
        FishLegConfig cfg = FishLegConfig.preset("ocaml-mnist").toBuilder().auxBatchSize(n).auxEvery(1).auxLr(0.01f).build();
        try (Mlp m = new Mlp(cpu, SPEC, Likelihood.bernoulli()); FishLeg fl = new FishLeg(m, cfg, new FixedAux(xs));
             Tensor x = cpu.upload(xs, n, 4); Tensor y = cpu.upload(ys, n, 3); Tensor loss = cpu.zeros(1, 1)) {
            m.init(1);
            for (int s = 0; s < 4; s++) fl.step(m, x, y, loss);
            for (int l = 0; l < m.layerCount(); l++) {
                float[] L = cpu.download(fl.factorL(l)), R = cpu.download(fl.factorR(l));
                int n1 = fl.factorL(l).rows(), n2 = fl.factorR(l).rows();
                boolean changed = false;
                for (int i = 0; i < n1; i++) for (int j = 0; j < n1; j++) {
                    if (j < i) assertEquals(0f, L[i * n1 + j], "L must stay upper-triangular");
                    if (j > i && L[i * n1 + j] != 0f) changed = true;
                }
                for (int i = 0; i < n2; i++) for (int j = i + 1; j < n2; j++) assertEquals(0f, R[i * n2 + j], "R must stay lower-triangular");
                assertTrue(changed, "the auxiliary updates changed L's upper triangle");
            }
        }
    }

    @Test
    void auxiliaryOnlyTrainingReachesTheInverseFisher() {
        // frozen one-layer network, fixed u and auxiliary batch: Q u -> (G + gamma I)^-1 u
        Random r = new Random(8);
        MlpSpec spec = MlpSpec.parse("3-2:linear");
        int na = 6;
        float[] xa = Fixtures.gaussian(r, na * 3, 1);
        double gamma = 0.1;
        FishLegConfig cfg = FishLegConfig.builder().damping((float) gamma).auxBatchSize(na).auxLr(0.01f).initScale(1f).build();
        try (Mlp m = new Mlp(cpu, spec, Likelihood.gaussian(1f)); FishLeg fl = new FishLeg(m, cfg, new FixedAux(xa));
             Tensor x = cpu.upload(xa, na, 3)) {
            m.init(2);
            float[] us = Fixtures.gaussian(r, m.paramCount(), 1);
            double nu = Math.sqrt(dot(RefMlp.toDouble(us), RefMlp.toDouble(us)));
            for (int i = 0; i < us.length; i++) us[i] /= nu;
            double[] ud = RefMlp.toDouble(us);
            double[][] g = new RefMlp(spec, m.likelihood()).gaussNewton(RefMlp.toDouble(cpu.download(m.params())), RefMlp.rows(xa, na, 3));
            for (int i = 0; i < g.length; i++) g[i][i] += gamma;
            double[] target = solve(g, ud);
            double optimum = -0.5 * dot(ud, target);
            try (Tensor u = cpu.upload(us, 1, us.length); Tensor z = m.newFlat()) {
                double a0 = fl.auxiliaryLoss(x, u);
                for (int it = 0; it < 4000; it++) fl.auxiliaryStep(u);
                double a = fl.auxiliaryLoss(x, u);
                fl.applyQ(u, z);
                double[] zd = RefMlp.toDouble(cpu.download(z));
                double num = 0, den = 0;
                for (int i = 0; i < zd.length; i++) { num += (zd[i] - target[i]) * (zd[i] - target[i]); den += target[i] * target[i]; }
                double rel = Math.sqrt(num / den);
                // stated bounds: within 1% of the optimum's gap from the start and 5% of the target vector
                assertTrue(a >= optimum - 1e-6, "aux loss below its optimum: " + a + " < " + optimum);
                assertTrue((a - optimum) < 0.01 * (a0 - optimum), "aux loss " + a + " not close to optimum " + optimum + " (start " + a0 + ")");
                assertTrue(rel < 0.05, "||Q u - (F+gI)^-1 u|| / ||(F+gI)^-1 u|| = " + rel);
            }
        }
    }

    static double[] solve(double[][] a, double[] b) {
        int n = b.length;
        double[][] m = new double[n][n + 1];
        for (int i = 0; i < n; i++) { System.arraycopy(a[i], 0, m[i], 0, n); m[i][n] = b[i]; }
        for (int c = 0; c < n; c++) {
            int p = c;
            for (int i = c + 1; i < n; i++) if (Math.abs(m[i][c]) > Math.abs(m[p][c])) p = i;
            double[] t = m[c]; m[c] = m[p]; m[p] = t;
            for (int i = 0; i < n; i++) if (i != c) {
                double f = m[i][c] / m[c][c];
                for (int j = c; j <= n; j++) m[i][j] -= f * m[c][j];
            }
        }
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = m[i][n] / m[i][i];
        return x;
    }

    @Test
    void stateRoundTripContinuesExactly() {
        Random r = new Random(9);
        int n = 6;
        float[] xs = Fixtures.gaussian(r, n * 4, 1), ys = Fixtures.targets(r, Likelihood.softmax(), n, 3);
        float[] xa = Fixtures.gaussian(r, 4 * 4, 1);
        FishLegConfig cfg = FishLegConfig.builder().auxBatchSize(4).auxEvery(2).auxLr(0.01f).build();
        float[] saved, savedParams, direct;
        OptimizerState st;
        try (Mlp m = new Mlp(cpu, SPEC, Likelihood.softmax()); FishLeg fl = new FishLeg(m, cfg, new FixedAux(xa));
             Tensor x = cpu.upload(xs, n, 4); Tensor y = cpu.upload(ys, n, 3); Tensor loss = cpu.zeros(1, 1)) {
            m.init(3);
            for (int s = 0; s < 3; s++) fl.step(m, x, y, loss);
            st = fl.state();
            savedParams = cpu.download(m.params());
            for (int s = 0; s < 4; s++) fl.step(m, x, y, loss);
            direct = cpu.download(m.params());
        }
        try (Mlp m = new Mlp(cpu, SPEC, Likelihood.softmax()); FishLeg fl = new FishLeg(m, cfg, new FixedAux(xa));
             Tensor x = cpu.upload(xs, n, 4); Tensor y = cpu.upload(ys, n, 3); Tensor loss = cpu.zeros(1, 1)) {
            cpu.upload(savedParams, m.params());
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            try {
                st.write(new java.io.DataOutputStream(bytes));
                fl.loadState(OptimizerState.read(new java.io.DataInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray()))));
            } catch (java.io.IOException e) { throw new AssertionError(e); }
            assertEquals(3, fl.stepCount());
            for (int s = 0; s < 4; s++) fl.step(m, x, y, loss);
            assertArrayEquals(direct, cpu.download(m.params()), "restored run must continue bit-exactly");
        }
    }
}
