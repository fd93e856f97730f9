package org.fishleg.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.fishleg.backend.Activation;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Backends;
import org.fishleg.data.Dataset;
import org.fishleg.data.Splits;
import org.fishleg.nn.Likelihood;
import org.fishleg.optim.Adam;
import org.fishleg.optim.AdamBuilder;
import org.fishleg.optim.OptimizerFactory;
import org.fishleg.optim.fishleg.FishLeg;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The org.fishleg.api facade: builder checks, fit with evaluators, chunked predict, save/load with exact continuation. */
class ModelTest {

    @TempDir Path tmp;

    /** Three Gaussian blobs in {@code d} dimensions, labelled and one-hot. */
    static Dataset blobs(String name, int n, int d, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * d];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 3;
            for (int j = 0; j < d; j++) x[i * d + j] = (float) (r.nextGaussian() * 0.7 + (j % 3 == labels[i] ? 1.5 : 0));
        }
        return Dataset.autoencoder(name, x, n, d, labels).withOneHotTargets(3);
    }

    static Splits blobs() { return new Splits(blobs("blobs, train", 300, 8, 1), null, blobs("blobs, test", 150, 8, 2)); }

    static Model classifier(long seed) {
        return Model.builder().input(8).dense(16, Activation.RELU).dense(3).softmax().backend("cpu").seed(seed).build();
    }

    @Test
    void builderRefusesMistakesWithTheFix() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Model.builder().input(784).dense(256).dense(10, Activation.RELU).softmax().spec());
        assertTrue(e.getMessage().contains("relu") && e.getMessage().contains("logits") && e.getMessage().contains("dense(10)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Model.builder().input(4).dense(4, Activation.SIGMOID).bernoulli().spec());
        assertTrue(e.getMessage().contains("sigmoid"), e.getMessage());
        // a Gaussian mean may be non-linear; the default output is linear
        assertEquals(Activation.RELU, Model.builder().input(4).dense(4, Activation.RELU).gaussian(1f).spec().layers().get(0).activation);
        assertEquals("784-256-10:linear", Model.builder().input(784).dense(256).dense(10).softmax().spec().toString());
        e = assertThrows(IllegalArgumentException.class, () -> Model.builder().input(0));
        assertTrue(e.getMessage().contains("positive"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Model.builder().input(3).dense(-2));
        assertTrue(e.getMessage().contains("positive"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Model.builder().input(3).softmax().spec());
        assertTrue(e.getMessage().contains("no layers"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Model.builder().dense(3).softmax().spec());
        assertTrue(e.getMessage().contains("input"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Model.builder().input(3).dense(3).build());
        assertTrue(e.getMessage().contains("likelihood"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Model.builder().named("no-such-model"));
        assertEquals("784-1000-500-250-30:linear-250-500-1000-784:linear", Model.builder().named("mnist-ae").spec().toString());
        assertEquals(100, FitOptions.defaults().divergenceFactor());
        e = assertThrows(IllegalArgumentException.class, () -> FitOptions.epochs(1).divergenceFactor(-1));
        assertTrue(e.getMessage().contains("divergence factor must be a finite number >= 0"), e.getMessage());
    }

    @Test
    void accuracyOnAHandMadeChunk() {
        // logits of 4 examples, 3 classes: predicted 2, 0, 1, 1; true (one-hot) 2, 0, 0, 1 -> 3 of 4
        float[] out = {0, 1, 5, 3, 2, 1, 0, 9, 1, -1, 0, -2};
        float[] target = {0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0};
        Evaluator.Accumulator a = Evaluator.accuracy().newAccumulator();
        a.add(new Evaluator.Chunk(4, 3, out, target, null, Double.NaN));
        assertEquals(0.75, a.result(), 0);
        // labels win over targets; a second chunk accumulates: 3 + 1 of 6
        a.add(new Evaluator.Chunk(2, 3, new float[] {1, 0, 0, 0, 0, 1}, new float[6], new int[] {0, 1}, Double.NaN));
        assertEquals(4.0 / 6, a.result(), 1e-12);
        Evaluator.Accumulator l = Evaluator.loss().newAccumulator();
        l.add(new Evaluator.Chunk(1, 3, new float[3], new float[3], null, 2.0));
        l.add(new Evaluator.Chunk(3, 3, new float[9], new float[9], null, 6.0));
        assertEquals(5.0, l.result(), 1e-12);
    }

    @Test
    void fitReportsPerEpochMetricsAndLearns() {
        Splits s = blobs();
        try (Model m = classifier(1)) {
            int[] seen = {0};
            History h = m.fit(Adam.builder().lr(1e-2f).build(), s.train(), s.test(), FitOptions.epochs(5).batchSize(30)
                    .evaluators(Evaluator.loss(), Evaluator.accuracy()).listener(e -> seen[0]++));
            assertEquals(5, h.epochs().size());
            assertEquals(5, seen[0]);
            assertEquals(50, h.steps());
            assertEquals(5, h.last().epoch);
            assertFalse(h.diverged());
            double[] loss = h.test("loss");
            assertTrue(loss[4] < loss[0], "test loss " + java.util.Arrays.toString(loss));
            assertTrue(h.last().test("accuracy") > 0.9, h.toString());
            assertTrue(h.trainLoss()[4] < h.trainLoss()[0], h.toString());
            // evaluate agrees with the last epoch's evaluation; predict gives probabilities
            Map<String, Double> ev = m.evaluate(s.test(), Evaluator.loss(), Evaluator.accuracy());
            assertEquals(h.last().test("loss"), ev.get("loss"), 1e-6);
            assertEquals(h.last().test("accuracy"), ev.get("accuracy"), 0);
            float[][] p = m.predict(s.test());
            double sum = 0;
            for (float v : p[0]) sum += v;
            assertEquals(1.0, sum, 1e-5);
            int[] cls = m.predictClasses(s.test());
            int right = 0;
            for (int i = 0; i < cls.length; i++) if (cls[i] == s.test().label(i)) right++;
            assertEquals(ev.get("accuracy"), (double) right / cls.length, 1e-12);
        }
    }

    /**
     * A fit's schedule spans that fit's steps: with {@code linear,start=0.5} over 2 epochs the first epoch runs at the
     * base rate (the same as a constant fit) and the second decays; a fit that continues an earlier one starts its
     * schedule at its own first step.
     */
    @Test
    void fitScheduleSpansThisFitsSteps() {
        Splits s = blobs();
        org.fishleg.train.LrSchedule half = org.fishleg.train.LrSchedule.parse("linear,start=0.5");
        OptimizerFactory opt = org.fishleg.optim.SgdMomentum.builder().lr(0.05f).build();
        double[] constant, scheduled, continued;
        try (Model m = classifier(3)) {
            constant = m.fit(opt, s.train(), s.test(), FitOptions.epochs(3).batchSize(30)).test("loss");
        }
        try (Model m = classifier(3)) {
            scheduled = m.fit(opt, s.train(), s.test(), FitOptions.epochs(2).batchSize(30).lrSchedule(half)).test("loss");
        }
        assertEquals(constant[0], scheduled[0], 0, "the first half runs at the base rate");
        assertTrue(constant[1] != scheduled[1], "the second half decays");
        try (Model m = classifier(3)) {
            m.fit(opt, s.train(), s.test(), FitOptions.epochs(1).batchSize(30));
            continued = m.fit(opt, s.train(), s.test(), FitOptions.epochs(2).batchSize(30).lrSchedule(half)).test("loss");
        }
        assertEquals(constant[1], continued[0], 0, "the continuing fit's first half (epoch 2) is at the base rate");
        assertTrue(constant[2] != continued[1], "its second half decays");
        assertThrows(IllegalArgumentException.class, () -> FitOptions.epochs(1).lrSchedule(null));
    }

    @Test
    void fishLegGetsItsAuxiliaryBatchesFromTheFacade() {
        Splits s = blobs();
        try (Model m = classifier(1)) {
            History h = m.fit(FishLeg.builder().preset("ocaml-mnist").auxBatchSize(10).build(), s.train(), s.test(),
                    FitOptions.epochs(3).batchSize(30).evaluators(Evaluator.accuracy()));
            assertFalse(h.diverged(), h.toString());
            double[] acc = h.test("accuracy");
            assertTrue(acc[2] > acc[0] && acc[2] > 0.6, h.toString());
        }
    }

    @Test
    void predictRunsInChunksAndFreesItsWorkBuffers() {
        Dataset big = blobs("big", 10_000, 8, 3);
        try (Backend b = Backends.open("cpu", line -> {});
             Model m = Model.builder().input(8).dense(512).dense(512).dense(3).softmax().backend(b).build()) {
            m.predict(blobs("small", 10, 8, 4)); // a first small predict allocates nothing that stays either
            long before = b.bytesInUse();
            float[][] p = m.predict(big);
            assertEquals(10_000, p.length);
            assertEquals(before, b.bytesInUse(), "backend memory after a 10,000-row predict");
            assertTrue(m.mlp().workspaceSizes().isEmpty(), "work buffers left: " + m.mlp().workspaceSizes());
            // a full 10,000-row workspace of this model would be about 7 x 10,000 x 1027 floats = 288 MB; the chunked
            // predict's output equals a forward over the whole set
            m.evaluate(big, Evaluator.accuracy());
            assertEquals(before, b.bytesInUse(), "backend memory after a 10,000-row evaluate");
        }
    }

    @Test
    void saveAndLoadRoundTripAndContinueExactly() {
        Splits s = blobs();
        for (OptimizerFactory opt : new OptimizerFactory[] {Adam.builder().lr(1e-2f).build(),
            FishLeg.builder().preset("ocaml-mnist").auxBatchSize(10).build(),
            org.fishleg.optim.kfac.Kfac.builder().lr(0.05f).inverseEvery(4).build()}) {
            FitOptions two = FitOptions.epochs(2).batchSize(30), one = FitOptions.epochs(1).batchSize(30);
            float[][] uninterrupted;
            double lastLoss;
            try (Model m = classifier(7)) {
                History h = m.fit(opt, s.train(), s.test(), two);
                uninterrupted = m.predict(s.test());
                lastLoss = h.last().test("loss");
            }
            Path file = tmp.resolve(opt.name() + ".safetensors");
            float[][] before;
            try (Model m = classifier(7)) {
                m.fit(opt, s.train(), s.test(), one);
                before = m.predict(s.test());
                m.save(file);
            }
            try (Model m = Model.load(file, "cpu")) {
                assertEquals("8-16-3:linear", m.spec().toString());
                assertEquals(10, m.steps()); // 300 / 30 batches of the first epoch
                assertArrayEquals(before, m.predict(s.test()), opt.name() + ": predictions after load");
                History h = m.fit(opt, s.train(), s.test(), one);
                assertEquals(10, h.startStep());
                assertEquals(2, h.last().epoch);
                assertEquals(lastLoss, h.last().test("loss"), 0, opt.name());
                assertArrayEquals(uninterrupted, m.predict(s.test()), opt.name() + ": continued fit differs from an uninterrupted one");
            }
        }
    }

    @Test
    void anUntrainedModelSavesItsParametersOnly() {
        Path file = tmp.resolve("m.safetensors");
        Dataset x = blobs("x", 5, 8, 9);
        float[][] p;
        try (Model m = Model.builder().input(8).dense(4).dense(3).likelihood(Likelihood.gaussianLearned(0.5f, 1e-3f, 2f)).backend("cpu").seed(3).build()) {
            p = m.predict(x);
            m.save(file);
        }
        try (Model m = Model.load(file, "cpu")) {
            assertEquals(0, m.steps());
            assertTrue(m.likelihood().learnSigma);
            assertArrayEquals(p, m.predict(x));
        }
    }

    @Test
    void namedModelsAreRecognisedOnLoad() {
        Path file = tmp.resolve("dln.safetensors");
        try (Model m = Model.builder().named("dln").backend("cpu").build()) {
            assertEquals("dln", m.name());
            m.save(file);
        }
        try (Model m = Model.load(file, "cpu")) {
            assertEquals("dln", m.name());
        }
    }

    @Test
    void adamLibraryDefaultsArePyTorchsAndTheRecipesThePapers() {
        AdamBuilder lib = Adam.builder();
        assertEquals(1e-3f, lib.lr());
        assertEquals(0.9f, lib.beta1());
        assertEquals(0.999f, lib.beta2());
        assertEquals(1e-8f, lib.eps());
        assertEquals(0f, lib.weightDecay());
        AdamBuilder paper = org.fishleg.optim.Recipes.adam("mnist-ae");
        assertEquals(1e-4f, paper.lr());
        assertEquals(0.9f, paper.beta2());
        assertEquals(1e-4f, paper.eps());
        assertEquals(3e-5f, org.fishleg.optim.Recipes.adam("faces-ae").lr());
        assertEquals(1e-2f, org.fishleg.optim.AdamW.builder().weightDecay());
    }
}
