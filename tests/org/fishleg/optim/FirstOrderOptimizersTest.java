package org.fishleg.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Random;
import java.util.function.Function;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.fishleg.testutil.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The first-order optimizers against values computed by hand (in double precision, listed below) for three
 * steps on a 3-element vector, the model-level step, and the exact state round trip.
 */
class FirstOrderOptimizersTest {

    static final float[] P0 = {1f, -2f, 0.5f};
    static final float[][] G = {{0.5f, 1f, -1f}, {0.2f, -0.4f, 0.6f}, {-0.3f, 0.1f, 0.05f}};

    /** Runs 3 updates with the gradients G from P0 and checks the parameters after each. */
    private static void check(Backend b, FirstOrderOptimizer opt, double[][] expected) {
        try (Tensor p = b.upload(P0, 1, 3); Tensor g = b.zeros(1, 3)) {
            for (int t = 0; t < 3; t++) {
                b.upload(G[t], g);
                opt.update(p, g);
                float[] got = b.download(p);
                for (int i = 0; i < 3; i++)
                    assertEquals(expected[t][i], got[i], 2e-6, opt.describe() + " step " + (t + 1) + " element " + i);
            }
            assertEquals(3, opt.stepCount());
        } finally {
            opt.close();
        }
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void sgdWithWeightDecay(Backend b) {
        // p -= 0.1 (g + 0.01 p): step 1 = [1 - 0.1*0.51, -2 - 0.1*0.98, 0.5 + 0.1*0.995]
        check(b, new Sgd(b, 3, 0.1f, 0.01f), new double[][] {
            {0.949000000, -2.098000000, 0.599500000},
            {0.928051000, -2.055902000, 0.538900500},
            {0.957122949, -2.063846098, 0.533361599}});
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void momentumEmaForm(Backend b) {
        // m = 0.9 m + 0.1 g; p -= 0.1 m: step 1 m = [0.05, 0.1, -0.1], p = [0.995, -2.01, 0.51]
        check(b, new SgdMomentum(b, 3, 0.1f, 0.9f, SgdMomentum.Form.EMA, false, 0f), new double[][] {
            {0.995000000, -2.010000000, 0.510000000},
            {0.988500000, -2.015000000, 0.513000000},
            {0.985650000, -2.020500000, 0.515200000}});
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void momentumClassicFormWithWeightDecay(Backend b) {
        // m = 0.9 m + (g + 0.01 p); p -= 0.1 m
        check(b, new SgdMomentum(b, 3, 0.1f, 0.9f, SgdMomentum.Form.CLASSIC, false, 0.01f), new double[][] {
            {0.949000000, -2.098000000, 0.599500000},
            {0.882151000, -2.144102000, 0.628450500},
            {0.851104749, -2.193449698, 0.648877500}});
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void momentumNesterov(Backend b) {
        // m = 0.9 m + g; p -= 0.1 (g + 0.9 m): step 1 = p - 0.19 g
        check(b, new SgdMomentum(b, 3, 0.1f, 0.9f, SgdMomentum.Form.CLASSIC, true, 0f), new double[][] {
            {0.905000000, -2.190000000, 0.690000000},
            {0.826500000, -2.195000000, 0.657000000},
            {0.830850000, -2.254500000, 0.671800000}});
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void adamWithL2InGradient(Backend b) {
        // step 1 of Adam moves every parameter by lr * sign(g + wd p): [0.99, -2.01, 0.51]
        check(b, new Adam(b, 3, 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f), new double[][] {
            {0.990000000, -2.010000000, 0.510000000},
            {0.980683093, -2.010885274, 0.511318590},
            {0.975631673, -2.010923490, 0.511774662}});
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void adamWDecoupledWeightDecay(Backend b) {
        // step 1: p -= 0.01 (sign(g) + 0.1 p): 1 - 0.011 = 0.989
        check(b, new AdamW(b, 3, 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f), new double[][] {
            {0.989000000, -2.008000000, 0.509500000},
            {0.979025248, -2.009448058, 0.510905480},
            {0.975090690, -2.010689820, 0.511599624}});
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void adamAuthorsMnistDefaults(Backend b) {
        // lr 1e-4, betas (0.9, 0.9), eps 1e-4: step 1 = p - 1e-4 * g / (|g| + 1e-4)
        check(b, new Adam(b, 3, Recipes.PAPER_ADAM_LR, Recipes.PAPER_ADAM_BETA1, Recipes.PAPER_ADAM_BETA2, Recipes.PAPER_ADAM_EPS, 0f), new double[][] {
            {0.999900020, -2.000099990, 0.500099990},
            {0.999808441, -2.000135218, 0.500119377},
            {0.999778243, -2.000169240, 0.500131911}});
    }

    // ------------------------------------------------------------------ model-level step

    private static Mlp tinyModel(Backend b, long seed) {
        Mlp m = new Mlp(b, MlpSpec.parse("5-7-3:linear"), Likelihood.softmax());
        m.init(seed);
        return m;
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void stepIsLossGradientThenUpdate(Backend b) {
        Random r = new Random(3);
        try (Mlp m1 = tinyModel(b, 7); Mlp m2 = tinyModel(b, 7);
             Tensor x = b.upload(Fixtures.gaussian(r, 8 * 5, 1), 8, 5);
             Tensor y = b.upload(Fixtures.targets(r, Likelihood.softmax(), 8, 3), 8, 3);
             Tensor l1 = b.zeros(1, 1); Tensor l2 = b.zeros(1, 1);
             Adam a1 = new Adam(m1, 1e-2f, 0.9f, 0.99f, 1e-8f, 0f);
             Adam a2 = new Adam(m2, 1e-2f, 0.9f, 0.99f, 1e-8f, 0f)) {
            float before = Float.NaN;
            for (int t = 0; t < 3; t++) {
                a1.step(m1, x, y, l1);
                m2.lossAndGradient(x, y, l2);
                a2.update(m2.params(), m2.grads());
                m2.projectParams();
                assertEquals(b.readScalar(l2), b.readScalar(l1), 0f, "the step reports the loss before its update");
                if (t == 0) before = b.readScalar(l1);
            }
            assertArrayEquals(b.download(m2.params()), b.download(m1.params()));
            m1.loss(x, y, l1);
            assertTrue(b.readScalar(l1) < before, "three Adam steps on one batch lower its loss");
        }
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void rejectsModelOfOtherSize(Backend b) {
        Random r = new Random(1);
        try (Mlp m = tinyModel(b, 1); Sgd s = new Sgd(b, 10, 0.1f, 0f);
             Tensor x = b.upload(Fixtures.gaussian(r, 2 * 5, 1), 2, 5); Tensor y = b.zeros(2, 3); Tensor l = b.zeros(1, 1)) {
            assertThrows(IllegalArgumentException.class, () -> s.step(m, x, y, l));
        }
    }

    // ------------------------------------------------------------------ state round trip

    static final String[] NAMES = {"sgd", "momentum", "adam", "adamw"};

    /** k steps, save, k more (A); fresh model with the saved parameters + fresh optimizer + loaded state, k more (B): A == B exactly. */
    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void stateRoundTripIsExact(Backend b) throws IOException {
        for (String name : NAMES) {
            Function<Mlp, Optimizer> make = m -> Optimizers.create(name, m,
                    new Optimizers.Options().lr(1e-2f).momentum(0.8f).nesterov(name.equals("momentum")).weightDecay(1e-3f), null);
            Random r = new Random(11);
            int k = 4, batch = 6;
            float[][] xs = new float[3 * k][], ys = new float[3 * k][];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = Fixtures.gaussian(r, batch * 5, 1);
                ys[i] = Fixtures.targets(r, Likelihood.softmax(), batch, 3);
            }
            try (Mlp a = tinyModel(b, 5); Mlp c = tinyModel(b, 99); Optimizer oa = make.apply(a); Optimizer oc = make.apply(c);
                 Tensor x = b.zeros(batch, 5); Tensor y = b.zeros(batch, 3); Tensor l = b.zeros(1, 1)) {
                for (int i = 0; i < k; i++) { b.upload(xs[i], x); b.upload(ys[i], y); oa.step(a, x, y, l); }
                OptimizerState saved = oa.state();
                float[] savedParams = b.download(a.params());
                for (int i = k; i < 2 * k; i++) { b.upload(xs[i], x); b.upload(ys[i], y); oa.step(a, x, y, l); }
                float[] expected = b.download(a.params());

                // through the binary format
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                saved.write(new DataOutputStream(bytes));
                OptimizerState read = OptimizerState.read(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
                assertEquals(saved, read);

                b.upload(savedParams, c.params());
                oc.loadState(read);
                assertEquals(k, oc.stepCount(), name);
                for (int i = k; i < 2 * k; i++) { b.upload(xs[i], x); b.upload(ys[i], y); oc.step(c, x, y, l); }
                assertArrayEquals(expected, b.download(c.params()), name + ": restored run differs");
                assertEquals(oa.state(), oc.state(), name + ": states differ after the same steps");
                assertEquals(2 * k, oc.stepCount());
            }
        }
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void loadStateRejectsForeignState(Backend b) {
        try (Adam a = new Adam(b, 3, 1e-3f, 0.9f, 0.9f, 1e-4f, 0f); SgdMomentum m = new SgdMomentum(b, 3, 0.1f, 0.9f,
                SgdMomentum.Form.EMA, false, 0f); SgdMomentum big = new SgdMomentum(b, 4, 0.1f, 0.9f, SgdMomentum.Form.EMA, false, 0f)) {
            assertThrows(IllegalArgumentException.class, () -> a.loadState(m.state()));
            assertThrows(IllegalArgumentException.class, () -> big.loadState(m.state()));
        }
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void rejectsBadHyperParameters(Backend b) {
        assertThrows(IllegalArgumentException.class, () -> new Sgd(b, 3, -1f, 0f));
        assertThrows(IllegalArgumentException.class, () -> new Sgd(b, 3, Float.NaN, 0f));
        assertThrows(IllegalArgumentException.class, () -> new SgdMomentum(b, 3, 0.1f, 1f, SgdMomentum.Form.EMA, false, 0f));
        assertThrows(IllegalArgumentException.class, () -> new Adam(b, 3, 0.1f, 0.9f, 1.5f, 1e-8f, 0f));
        assertThrows(IllegalArgumentException.class, () -> new Adam(b, 3, 0.1f, 0.9f, 0.9f, 0f, 0f));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(b, 3, 0.1f, 0.9f, 0.9f, 1e-8f, -1f));
    }
}
