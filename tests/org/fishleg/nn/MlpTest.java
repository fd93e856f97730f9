package org.fishleg.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import java.util.stream.Stream;
import org.fishleg.backend.Activation;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.backend.cpu.CpuBackend;
import org.fishleg.testutil.Fixtures;
import org.fishleg.testutil.RefMlp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Dense layers, activations and likelihoods: forward pass and gradient against a double-precision
 * reference (whose own analytic gradient is checked against central finite differences), for every
 * activation x likelihood.
 */
class MlpTest {
    static Backend cpu;

    @BeforeAll static void open() { cpu = new CpuBackend(); }
    @AfterAll static void close() { cpu.close(); }

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> s = Stream.builder();
        for (Activation a : Activation.values())
            for (Likelihood lik : Fixtures.allLikelihoods()) s.add(Arguments.of(a, lik));
        return s.build();
    }

    static MlpSpec tinySpec(Activation hidden) {
        return MlpSpec.parse("5-7:" + hidden.specName() + "-6:" + hidden.specName() + "-4:linear");
    }

    @ParameterizedTest(name = "{0} / {1}")
    @MethodSource("cases")
    void gradientMatchesReference(Activation act, Likelihood lik) {
        MlpSpec spec = tinySpec(act);
        Random r = new Random(act.ordinal() * 31 + lik.kind.ordinal() + (lik.learnSigma ? 100 : 0));
        int n = 9;
        RefMlp ref = new RefMlp(spec, lik);
        try (Mlp m = new Mlp(cpu, spec, lik)) {
            m.init(42);
            // non-zero biases so that they matter
            float[] p = cpu.download(m.params());
            for (int i = 0; i < p.length; i++) p[i] += (float) (0.1 * r.nextGaussian());
            if (lik.learnSigma) p[p.length - 1] = 0.8f;
            cpu.upload(p, m.params());
            float[] xs = Fixtures.gaussian(r, n * 5, 1.0);
            float[] ys = Fixtures.targets(r, lik, n, 4);
            try (Tensor x = cpu.upload(xs, n, 5); Tensor y = cpu.upload(ys, n, 4); Tensor loss = cpu.zeros(1, 1)) {
                cpu.fill(m.grads(), Float.NaN);
                m.lossAndGradient(x, y, loss);
                double[] pd = RefMlp.toDouble(p);
                double[][] xd = RefMlp.rows(xs, n, 5), yd = RefMlp.rows(ys, n, 4);
                double refLoss = ref.nll(pd, xd, yd);
                assertEquals(refLoss, cpu.readScalar(loss), 1e-5 * Math.max(1, Math.abs(refLoss)), "loss");
                double[] gRef = ref.gradient(pd, xd, yd);
                // the reference gradient itself against central differences of the reference loss
                double[] fd = new double[pd.length];
                double eps = 1e-6;
                for (int t = 0; t < pd.length; t++) {
                    double keep = pd[t];
                    pd[t] = keep + eps; double lp = ref.nll(pd, xd, yd);
                    pd[t] = keep - eps; double lm = ref.nll(pd, xd, yd);
                    pd[t] = keep;
                    fd[t] = (lp - lm) / (2 * eps);
                }
                assertTrue(RefMlp.relErr(gRef, fd, 1e-3) < 1e-6, "reference gradient vs finite differences: " + RefMlp.relErr(gRef, fd, 1e-3));
                double[] g = RefMlp.toDouble(cpu.download(m.grads()));
                double err = RefMlp.relErr(g, gRef, 1e-3);
                assertTrue(err < 2e-5, "float32 gradient vs double reference, relative error " + err);
            }
        }
    }

    @Test
    void forwardMatchesReferenceOnMnistShapedNet() {
        MlpSpec spec = Models.get("mnist-ae").spec;
        Random r = new Random(3);
        try (Mlp m = new Mlp(cpu, spec, Likelihood.bernoulli())) {
            m.init(7);
            int n = 3;
            float[] xs = new float[n * 784];
            for (int i = 0; i < xs.length; i++) xs[i] = r.nextFloat();
            try (Tensor x = cpu.upload(xs, n, 784)) {
                float[] f = cpu.download(m.forward(x));
                double[][] ref = new RefMlp(spec, Likelihood.bernoulli()).forward(RefMlp.toDouble(cpu.download(m.params())), RefMlp.rows(xs, n, 784));
                double[] flatRef = new double[n * 784];
                for (int i = 0; i < n; i++) System.arraycopy(ref[i], 0, flatRef, i * 784, 784);
                assertTrue(RefMlp.relErr(RefMlp.toDouble(f), flatRef, 1e-3) < 1e-4);
            }
        }
    }

    @Test
    void uniformInitDrawsWeightsAndBiasesInTheFanInBound() {
        MlpSpec spec = MlpSpec.parse("400-300-10:linear");
        try (Mlp a = new Mlp(cpu, spec, Likelihood.softmax()); Mlp b = new Mlp(cpu, spec, Likelihood.softmax())) {
            cpu.fill(a.params(), Float.NaN); // poisoned: every element must be written
            a.init(5, WeightInit.UNIFORM);
            b.init(5, WeightInit.UNIFORM);
            assertArrayEquals(cpu.download(a.params()), cpu.download(b.params()), "seeded");
            for (int l = 0; l < 2; l++) {
                float[] w = cpu.download(a.weights(l));
                int out = l == 0 ? 300 : 10;
                double bound = 1.0 / Math.sqrt(l == 0 ? 400 : 300), ss = 0, sum = 0, bss = 0;
                for (int i = 0; i < w.length; i++) {
                    assertTrue(Math.abs(w[i]) <= bound, "layer " + l + " element " + i + " = " + w[i] + " outside +-" + bound);
                    if (i < out) bss += w[i] * (double) w[i];
                    else { ss += w[i] * (double) w[i]; sum += w[i]; }
                }
                int n = w.length - out;
                assertEquals(bound * bound / 3, ss / n, 0.05 * bound * bound / 3, "layer " + l + ": weight variance bound^2 / 3");
                assertEquals(0.0, sum / n, 4 * bound / Math.sqrt(3 * n), "layer " + l + ": weight mean 0");
                assertTrue(bss > 0.1 * out * bound * bound / 3, "layer " + l + ": biases are drawn too, not zero");
            }
            b.init(5, WeightInit.NORMAL);
            assertFalse(java.util.Arrays.equals(cpu.download(a.params()), cpu.download(b.params())), "the scheme matters");
        }
        assertEquals(WeightInit.UNIFORM, WeightInit.parse(" Uniform"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WeightInit.parse("xavier"));
        assertEquals("--weight-init must be normal or uniform, got 'xavier'", e.getMessage());
    }

    @Test
    void initIsSeededWithFanInVarianceAndZeroBias() {
        MlpSpec spec = MlpSpec.parse("400-300-10:linear");
        try (Mlp a = new Mlp(cpu, spec, Likelihood.softmax()); Mlp b = new Mlp(cpu, spec, Likelihood.softmax())) {
            a.init(5);
            b.init(5);
            assertArrayEquals(cpu.download(a.params()), cpu.download(b.params()));
            float[] w = cpu.download(a.weights(0));
            for (int j = 0; j < 300; j++) assertEquals(0f, w[j], "bias row is zero");
            double ss = 0;
            for (int i = 300; i < w.length; i++) ss += w[i] * (double) w[i];
            double var = ss / (w.length - 300);
            assertEquals(1.0 / 400, var, 0.05 / 400, "weight variance 1/fan_in");
            b.init(6);
            assertFalse(java.util.Arrays.equals(cpu.download(a.params()), cpu.download(b.params())));
        }
    }

    @Test
    void specParsingAndErrors() {
        MlpSpec s = MlpSpec.parse("784-1000-500-250-30:linear-250-500-1000-784:linear");
        assertEquals(8, s.layers().size());
        assertEquals(Activation.RELU, s.layers().get(0).activation);
        assertEquals(Activation.IDENTITY, s.layers().get(3).activation);
        assertEquals(785 * 1000, s.layers().get(0).paramCount());
        assertEquals(s, MlpSpec.parse(s.toString()));
        long expect = 785L*1000 + 1001L*500 + 501L*250 + 251L*30 + 31L*250 + 251L*500 + 501L*1000 + 1001L*784;
        assertEquals(expect, s.paramCount());
        MlpSpec nb = MlpSpec.parse("3-4:tanh-2:linear/nobias");
        assertFalse(nb.layers().get(0).bias);
        assertEquals(12, nb.layers().get(0).paramCount());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MlpSpec.parse("784-abc-10"));
        assertTrue(e.getMessage().contains("abc"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MlpSpec.parse("784-10:swish"));
        assertTrue(e.getMessage().contains("swish"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MlpSpec.parse("784"));
        assertThrows(IllegalArgumentException.class, () -> MlpSpec.parse("784-0-10"));
    }

    @Test
    void outputLayerDefaultsToLinearHiddenLayersToRelu() {
        // 784-256-10 before a softmax must give logits (a ReLU there gave 83% MNIST accuracy instead of 94%)
        MlpSpec s = MlpSpec.parse("784-256-10");
        assertEquals(Activation.RELU, s.layers().get(0).activation);
        assertEquals(Activation.IDENTITY, s.layers().get(1).activation);
        assertEquals("784-256-10:linear", s.toString());
        assertEquals(Activation.IDENTITY, MlpSpec.parse("784-10").layers().get(0).activation);
        MlpSpec relu = MlpSpec.parse("784-256-10:relu");
        assertEquals(Activation.RELU, relu.layers().get(1).activation);
        assertEquals("784-256-10:relu", relu.toString());
        assertEquals(relu, MlpSpec.parse(relu.toString()));
        assertEquals("3-4:tanh-2:sigmoid/nobias", MlpSpec.parse("3-4:tanh-2:sigmoid/nobias").toString());
        // the named models keep their text (checkpoints compare it)
        assertEquals("784-1000-500-250-30:linear-250-500-1000-784:linear", Models.get("mnist-ae").spec.toString());
        assertEquals(MlpSpec.parse("784-1000-500-250-30:linear-250-500-1000-784"), Models.get("mnist-ae").spec);
    }

    @Test
    void namedModels() {
        assertEquals("784-1000-500-250-30:linear-250-500-1000-784:linear", Models.get("mnist-ae").spec.toString());
        assertEquals(625, Models.get("faces-ae").spec.inputSize());
        assertEquals(6, Models.get("curves-ae").spec.layers().get(5).out);
        MlpSpec dln = Models.get("dln").spec;
        assertEquals(19, dln.layers().size());
        assertEquals(400, dln.paramCount() / 19);
        assertTrue(Models.get("dln").likelihood.learnSigma);
    }

    @Test
    void shapeErrorsNameTheShapes() {
        try (Mlp m = new Mlp(cpu, MlpSpec.parse("4-3-2:linear"), Likelihood.bernoulli());
             Tensor x = cpu.zeros(5, 3); Tensor y = cpu.zeros(5, 2); Tensor l = cpu.zeros(1, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.loss(x, y, l));
            assertTrue(e.getMessage().contains("3 columns") && e.getMessage().contains("4"), e.getMessage());
        }
    }
}
