package org.fishleg.curvature;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import java.util.stream.Stream;
import org.fishleg.backend.Activation;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.backend.cpu.CpuBackend;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.fishleg.testutil.Fixtures;
import org.fishleg.testutil.RefMlp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Fisher-vector products on tiny networks: the Gauss-Newton product against J^T H J built explicitly in
 * double precision; the sampled-target Hessian product against the exact Hessian-vector product for
 * the same sampled targets (finite differences of the analytic double gradient), and its Monte-Carlo
 * mean against the Gauss-Newton product.
 */
class FisherProductTest {
    static Backend cpu;

    @BeforeAll static void open() { cpu = new CpuBackend(); }
    @AfterAll static void close() { cpu.close(); }

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> s = Stream.builder();
        for (Likelihood lik : Fixtures.allLikelihoods())
            for (Activation a : new Activation[] {Activation.RELU, Activation.TANH, Activation.SOFTPLUS})
                s.add(Arguments.of(a, lik));
        // a non-identity output activation exercises phi'(a_L) and phi''(a_L)
        s.add(Arguments.of(Activation.SIGMOID, Likelihood.gaussian(0.5f)));
        return s.build();
    }

    static MlpSpec spec(Activation act, boolean sigmoidOut) {
        return MlpSpec.parse("4-5:" + act.specName() + "-3:" + (sigmoidOut ? "sigmoid" : "linear"));
    }

    /** Model with perturbed parameters, inputs, a direction z. */
    static final class Setup implements AutoCloseable {
        final Mlp m; final Tensor x, z, out; final float[] p, xs, zs; final int n = 6;
        Setup(Activation act, Likelihood lik, long seed) {
            Random r = new Random(seed);
            MlpSpec s = spec(act, act == Activation.SIGMOID);
            m = new Mlp(cpu, s, lik);
            m.init(seed);
            p = cpu.download(m.params());
            for (int i = 0; i < p.length; i++) p[i] += (float) (0.2 * r.nextGaussian());
            if (lik.learnSigma) p[p.length - 1] = 0.8f;
            cpu.upload(p, m.params());
            xs = Fixtures.gaussian(r, n * 4, 1.0);
            zs = Fixtures.gaussian(r, m.paramCount(), 1.0);
            x = cpu.upload(xs, n, 4);
            z = cpu.upload(zs, 1, zs.length);
            out = cpu.zeros(1, zs.length);
        }
        @Override public void close() { x.close(); z.close(); out.close(); m.close(); }
    }

    @ParameterizedTest(name = "{0} / {1}")
    @MethodSource("cases")
    void gaussNewtonEqualsExplicitJtHJ(Activation act, Likelihood lik) {
        try (Setup s = new Setup(act, lik, 11)) {
            RefMlp ref = new RefMlp(s.m.spec(), lik);
            double[][] g = ref.gaussNewton(RefMlp.toDouble(s.p), RefMlp.rows(s.xs, s.n, 4));
            double damping = 0.01;
            double[] want = RefMlp.matVec(g, RefMlp.toDouble(s.zs));
            for (int i = 0; i < want.length; i++) want[i] += damping * s.zs[i];
            cpu.fill(s.out, Float.NaN);
            new GaussNewton().apply(s.m, s.x, s.z, (float) damping, s.out);
            double err = RefMlp.relErr(RefMlp.toDouble(cpu.download(s.out)), want, 1e-3);
            assertTrue(err < 1e-4, "GN product vs explicit J^T H J: relative error " + err);
            // PSD: z^T G z >= 0
            double q = 0;
            float[] o = cpu.download(s.out);
            for (int i = 0; i < o.length; i++) q += o[i] * (double) s.zs[i];
            assertTrue(q > 0);
        }
    }

    @ParameterizedTest(name = "{0} / {1}")
    @MethodSource("cases")
    void sampledHessianIsExactHessianForTheSampledTargets(Activation act, Likelihood lik) {
        try (Setup s = new Setup(act, lik, 12)) {
            long seed = 99;
            cpu.setRngState(seed, 1234);
            cpu.fill(s.out, Float.NaN);
            new SampledHessian().apply(s.m, s.x, s.z, 0f, s.out);
            // replay the same draws to get the sampled targets
            cpu.setRngState(seed, 1234);
            int k = s.m.spec().outputSize();
            float[] ys;
            try (Tensor noise = cpu.zeros(s.n, k); Tensor y = cpu.zeros(s.n, k)) {
                if (lik.kind == org.fishleg.backend.LikelihoodKind.GAUSSIAN) cpu.randNormal(noise, 0f, 1f);
                else cpu.randUniform(noise);
                Tensor f = s.m.forward(s.x);
                cpu.sampleTargets(lik.kind, f, s.m.sigma(), noise, y);
                ys = cpu.download(y);
            }
            RefMlp ref = new RefMlp(s.m.spec(), lik);
            double[] pd = RefMlp.toDouble(s.p), zd = RefMlp.toDouble(s.zs);
            double[][] xd = RefMlp.rows(s.xs, s.n, 4), yd = RefMlp.rows(ys, s.n, k);
            double eps = 1e-5;
            double[] pp = pd.clone(), pm = pd.clone();
            for (int i = 0; i < pd.length; i++) { pp[i] += eps * zd[i]; pm[i] -= eps * zd[i]; }
            double[] gp = ref.gradient(pp, xd, yd), gm = ref.gradient(pm, xd, yd);
            double[] hv = new double[pd.length];
            for (int i = 0; i < hv.length; i++) hv[i] = (gp[i] - gm[i]) / (2 * eps);
            double err = RefMlp.relErr(RefMlp.toDouble(cpu.download(s.out)), hv, 1e-3);
            assertTrue(err < 2e-4, "sampled-target Hv vs finite differences of the exact gradient: relative error " + err);
        }
    }

    @ParameterizedTest(name = "{0} / {1}")
    @MethodSource("cases")
    void sampledHessianMeanConvergesToGaussNewton(Activation act, Likelihood lik) {
        try (Setup s = new Setup(act, lik, 13); Tensor gn = cpu.zeros(1, s.zs.length)) {
            new GaussNewton().apply(s.m, s.x, s.z, 0f, gn);
            double[] want = RefMlp.toDouble(cpu.download(gn));
            int reps = 3000;
            int d = s.zs.length;
            double[] sum = new double[d], sumSq = new double[d];
            SampledHessian sh = new SampledHessian();
            cpu.setSeed(5);
            for (int rep = 0; rep < reps; rep++) {
                sh.apply(s.m, s.x, s.z, 0f, s.out);
                float[] o = cpu.download(s.out);
                for (int i = 0; i < d; i++) { sum[i] += o[i]; sumSq[i] += o[i] * (double) o[i]; }
            }
            // every coordinate within 5 standard errors of the Monte-Carlo mean (plus float slack)
            int bad = 0;
            double worst = 0;
            for (int i = 0; i < d; i++) {
                double mean = sum[i] / reps;
                double var = Math.max(0, sumSq[i] / reps - mean * mean);
                double se = Math.sqrt(var / reps);
                double dev = Math.abs(mean - want[i]) / (5 * se + 1e-5 * (1 + Math.abs(want[i])));
                worst = Math.max(worst, dev);
                if (dev > 1) bad++;
            }
            assertEquals(0, bad, "coordinates outside 5 standard errors (worst ratio " + worst + ")");
        }
    }
}
