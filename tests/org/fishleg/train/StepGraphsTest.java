package org.fishleg.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.fishleg.backend.Backend;
import org.fishleg.backend.BackendException;
import org.fishleg.backend.TestBackends;
import org.fishleg.backend.Tensor;
import org.fishleg.backend.cpu.CpuBackend;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.fishleg.optim.Optimizer;
import org.fishleg.optim.OptimizerState;
import org.fishleg.optim.Optimizers;
import org.fishleg.optim.fishleg.FishLeg;
import org.fishleg.optim.fishleg.FishLegConfig;
import org.fishleg.optim.kfac.KfacConfig;
import org.fishleg.testutil.RecordingBackend;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Training with captured step graphs gives the same result as operation-by-operation training. On the
 * CPU, graphs are recorded and replayed by {@link RecordingBackend} (the CPU twin of CUDA stream capture):
 * the results must be bit-identical, which fails when a replayed step would reuse a host value of the step
 * it was captured from. On CUDA (when usable) real graphs are compared with graphs switched off.
 */
class StepGraphsTest {

    /** One training setup: optimizer name, model, likelihood, batch size, steps. */
    record Case(String optimizer, String spec, Likelihood likelihood, int batch, int steps, FishLegConfig fishLeg, KfacConfig kfac) {
        Case(String optimizer, String spec, Likelihood likelihood, int batch, int steps, FishLegConfig fishLeg) {
            this(optimizer, spec, likelihood, batch, steps, fishLeg, null);
        }
        @Override public String toString() {
            return optimizer + " " + spec + " " + likelihood + " B=" + batch + (kfac != null ? " warmup=" + (kfac.warmup ? "on" : "off") + " decay=" + kfac.statDecay : "");
        }
        /**
         * KFAC steps that run eagerly: those that recompute the inverses (steps 0..T with the warm-up, then every T),
         * and warm-up steps whose running-mean decay 1 - 1/(s + 1) is still below statDecay.
         */
        long kfacEagerSteps() {
            long n = 0;
            for (long s = 0; s < steps; s++)
                if ((kfac.warmup && (s <= kfac.inverseEvery || 1f - 1f / (s + 1) < kfac.statDecay)) || s % kfac.inverseEvery == 0) n++;
            return n;
        }
    }

    static FishLegConfig.Builder fl() {
        return FishLegConfig.builder().auxBatchSize(16).auxEvery(3).lr(0.05f).auxLr(1e-3f);
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("momentum", "12-6-12:linear", Likelihood.bernoulli(), 20, 30, null),
                new Case("sgd", "12-6-12:linear", Likelihood.bernoulli(), 20, 30, null),
                // the bias corrections come from a device step count
                new Case("adam", "12-6-12:linear", Likelihood.bernoulli(), 20, 30, null),
                new Case("adamw", "12-6-12:linear", Likelihood.bernoulli(), 20, 30, null),
                new Case("fishleg", "12-6-12:linear", Likelihood.bernoulli(), 20, 30, fl().build()),
                new Case("fishleg-g", "12-6-12:linear", Likelihood.bernoulli(), 20, 30, fl().build()),
                // small batch, wide layer: the low-rank Q g path
                new Case("fishleg-qg", "12-32-12:linear", Likelihood.bernoulli(), 4, 30, fl().build()),
                new Case("fishleg", "12-8-12:linear", Likelihood.gaussianLearned(1f, 0.05f, 10f), 20, 30,
                        fl().fisher(FishLegConfig.FisherProduct.SAMPLED_HESSIAN).build()),
                // inverting steps (0 and 20 of 30) run eagerly; the others replay one graph (sampled targets included)
                new Case("kfac", "12-6-12:linear", Likelihood.bernoulli(), 20, 30, null,
                        KfacConfig.builder().lr(0.05f).warmup(false).build()),
                // with the warm-up, steps 0..20 invert and then every 20th (40): 22 inverting steps of 50
                new Case("kfac", "12-6-12:linear", Likelihood.bernoulli(), 20, 50, null,
                        KfacConfig.builder().lr(0.05f).warmup(true).build()),
                // statDecay 0.96: the warm-up's decay still changes at steps 21..23, which must not replay one graph
                new Case("kfac", "12-6-12:linear", Likelihood.bernoulli(), 20, 50, null,
                        KfacConfig.builder().lr(0.05f).warmup(true).statDecay(0.96f).build()));
    }

    static Stream<Arguments> cpuCases() { return cases().map(Arguments::of); }

    /** Result of one run: final parameters, optimizer state, last train loss, graph counters. */
    record Run(float[] params, OptimizerState state, double lastTrain, long replayed, long eager, long captures, long rngOffset) {}

    static Run train(Backend b, Case c, boolean graphs, List<String> notices) {
        TrainerConfig cfg = TrainerConfig.builder().batchSize(c.batch).steps(c.steps).logEvery(7).seed(5)
                .evalAtStart(false).graphs(graphs).build();
        TrainingProgress progress = new TrainingProgress() {
            @Override public void message(String line) { notices.add(line); }
        };
        try (DeviceDataset train = DeviceDataset.upload(b, TrainerTest.data("train", 240, 1));
             Mlp m = new Mlp(b, MlpSpec.parse(c.spec), c.likelihood)) {
            m.init(9);
            b.setSeed(3);
            try (Trainer t = new Trainer(m, train, null, cfg, progress);
                 Optimizer o = Optimizers.create(c.optimizer, m,
                         new Optimizers.Options().lr(c.optimizer.startsWith("fishleg") ? null : 0.05f).fishLeg(c.fishLeg).kfac(c.kfac), t.auxSource())) {
                if (c.optimizer.equals("fishleg-qg")) assertTrue(((FishLeg) o).lowRankApplies(c.batch), "case meant for the low-rank path");
                TrainResult r = t.run(o);
                assertFalse(r.diverged, r.message);
                StepGraphs g = t.graphs();
                return new Run(b.download(m.params()), o.state(), r.lastTrainLoss, g.replayedSteps(), g.eagerSteps(),
                        g.captures(), b.rngOffset());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cpuCases")
    void recordedGraphsReplayBitIdenticallyOnTheCpu(Case c) {
        try (CpuBackend cpu = new CpuBackend()) {
            List<String> notes = new ArrayList<>();
            Run eager = train(cpu, c, true, notes); // the CPU backend has no graphs: all eager
            assertEquals(0, eager.replayed);
            Backend rec = RecordingBackend.wrap(cpu);
            Run graphed = train(rec, c, true, notes);
            assertEquals(List.of(), notes, "no capture may fail");
            assertTrue(graphed.replayed > 0, "some steps must be replays");
            assertEquals(c.steps, graphed.replayed + graphed.eager);
            if (c.optimizer.startsWith("fishleg")) { // two step kinds: with and without the auxiliary update
                assertEquals(2, graphed.captures, "graphs");
                assertEquals(2, graphed.eager, "only the first step of each kind runs eagerly");
            } else if (c.optimizer.equals("kfac")) {
                assertEquals(1, graphed.captures, "graphs");
                assertEquals(c.kfacEagerSteps() + 1, graphed.eager, "the inverting and warm-up steps and the first plain step run eagerly");
            } else {
                assertEquals(1, graphed.captures, "graphs");
                assertEquals(1, graphed.eager, "only the first step runs eagerly");
            }
            assertTrue(RecordingBackend.of(rec).replayedCalls() > 0);
            assertArrayEquals(eager.params, graphed.params, "parameters");
            assertEquals(eager.lastTrain, graphed.lastTrain, "train loss");
            assertEquals(eager.rngOffset, graphed.rngOffset, "random stream position");
            assertEquals(eager.state.numbers(), graphed.state.numbers(), "optimizer counters");
            for (String k : eager.state.arrays().keySet())
                assertArrayEquals(eager.state.array(k), graphed.state.array(k), "optimizer array " + k);
        }
    }

    @Test
    void cudaGraphsMatchOperationByOperationTraining() {
        Assumptions.assumeTrue(TestBackends.cudaAvailable(), () -> "GPU suite skipped: " + TestBackends.cudaSkipReason());
        Backend cuda = TestBackends.list().stream().filter(b -> b.name().equals("cuda")).findFirst().orElseThrow();
        cases().forEach(c -> {
            List<String> notes = new ArrayList<>();
            Run eager = train(cuda, c, false, notes);
            Run graphed = train(cuda, c, true, notes);
            assertEquals(List.of(), notes, c + ": no capture may fail");
            assertEquals(0, eager.replayed, c.toString());
            assertTrue(graphed.replayed > 0, c + ": some steps must be replays");
            assertEquals(eager.rngOffset, graphed.rngOffset, c + ": random stream position");
            // the same kernels in the same order; cuBLAS may pick other GEMM kernels under capture, so not bitwise
            for (int i = 0; i < eager.params.length; i++)
                assertEquals(eager.params[i], graphed.params[i], 1e-5f * Math.max(1f, Math.abs(eager.params[i])), c + ": parameter " + i);
        });
    }

    /** Two batch sizes in turn through one StepGraphs: each keeps its own graphs and buffers. */
    static float[] alternate(Backend b, boolean graphs) {
        try (Mlp m = new Mlp(b, MlpSpec.parse("12-32-12:linear"), Likelihood.bernoulli());
             Tensor pool = b.upload(TrainerTest.data("pool", 64, 3).copyX(), 64, 12);
             Tensor x4 = b.zeros(4, 12); Tensor x6 = b.zeros(6, 12); Tensor loss = b.zeros(1, 1)) {
            m.init(2);
            b.copy(pool.rowRange(0, 4), x4);
            b.copy(pool.rowRange(10, 16), x6);
            DeviceAuxSource aux = new DeviceAuxSource(b, pool, 7);
            FishLegConfig cfg = Optimizers.qgVariant(fl().auxBatchSize(8).build());
            try (FishLeg o = new FishLeg(m, cfg, aux); StepGraphs g = new StepGraphs(b, graphs, line -> { throw new AssertionError(line); })) {
                assertTrue(o.lowRankApplies(4) && o.lowRankApplies(6));
                for (int i = 0; i < 24; i++) g.step(o, m, i % 2 == 0 ? x4 : x6, i % 2 == 0 ? x4 : x6, loss, () -> { });
                if (graphs) assertEquals(4, g.captures(), "two batch sizes x (with, without the auxiliary update)");
                return b.download(m.params());
            }
        }
    }

    @Test
    void alternatingBatchSizesKeepTheirOwnGraphsAndBuffers() {
        try (CpuBackend cpu = new CpuBackend()) {
            assertArrayEquals(alternate(cpu, false), alternate(RecordingBackend.wrap(cpu), true));
        }
    }

    // ---------------------------------------------------------------- the harness catches what it must

    /**
     * An optimizer that lies: SGD with a learning rate decaying as lr / t, computed on the host, whose
     * replay key claims every step is the same.
     */
    static final class LyingDecaySgd implements Optimizer {
        final float lr;
        long steps;
        LyingDecaySgd(float lr) { this.lr = lr; }
        @Override public String name() { return "lying-decay-sgd"; }
        @Override public void step(Mlp m, Tensor x, Tensor y, Tensor l) { enqueueStep(m, x, y, l); stepQueued(); }
        @Override public Object replayKey(int batch) { return "always the same"; }
        @Override public void enqueueStep(Mlp m, Tensor x, Tensor y, Tensor l) {
            m.lossAndGradient(x, y, l);
            m.backend().axpy(-lr / (steps + 1), m.grads(), m.params());
        }
        @Override public void stepQueued() { steps++; }
        @Override public long stepCount() { return steps; }
        @Override public OptimizerState state() { return new OptimizerState(name()); }
        @Override public void loadState(OptimizerState s) { }
        @Override public String describe() { return name(); }
        @Override public void close() { }
    }

    static float[] trainWith(Backend b, java.util.function.Function<Mlp, Optimizer> make, List<String> notes) {
        TrainerConfig cfg = TrainerConfig.builder().batchSize(20).steps(12).logEvery(4).seed(5).evalAtStart(false).build();
        TrainingProgress progress = new TrainingProgress() {
            @Override public void message(String line) { notes.add(line); }
        };
        try (DeviceDataset train = DeviceDataset.upload(b, TrainerTest.data("train", 240, 1));
             Mlp m = new Mlp(b, MlpSpec.parse("12-6-12:linear"), Likelihood.bernoulli())) {
            m.init(9);
            try (Trainer t = new Trainer(m, train, null, cfg, progress); Optimizer o = make.apply(m)) {
                assertFalse(t.run(o).diverged);
                return b.download(m.params());
            }
        }
    }

    @Test
    void aReplayKeyThatHidesAChangingHostValueIsCaught() {
        try (CpuBackend cpu = new CpuBackend()) {
            List<String> notes = new ArrayList<>();
            java.util.function.Function<Mlp, Optimizer> lying = m -> new LyingDecaySgd(0.5f);
            float[] eager = trainWith(cpu, lying, notes);
            float[] graphed = trainWith(RecordingBackend.wrap(cpu), lying, notes);
            assertFalse(java.util.Arrays.equals(eager, graphed), "a frozen learning rate must change the result");
        }
    }

    /** Reads a scalar to the host inside its step: capture must fail cleanly and training go on eagerly. */
    static final class HostReadingSgd implements Optimizer {
        final Optimizer inner;
        final Tensor probe;
        HostReadingSgd(Mlp m) {
            inner = Optimizers.create("sgd", m, new Optimizers.Options().lr(0.05f), null);
            probe = m.backend().zeros(1, 1);
        }
        @Override public String name() { return "host-reading-sgd"; }
        @Override public void step(Mlp m, Tensor x, Tensor y, Tensor l) { inner.step(m, x, y, l); }
        @Override public Object replayKey(int batch) { return inner.replayKey(batch); }
        @Override public void enqueueStep(Mlp m, Tensor x, Tensor y, Tensor l) {
            inner.enqueueStep(m, x, y, l);
            m.backend().readScalar(probe);
        }
        @Override public void stepQueued() { inner.stepQueued(); }
        @Override public long stepCount() { return inner.stepCount(); }
        @Override public OptimizerState state() { return inner.state(); }
        @Override public void loadState(OptimizerState s) { inner.loadState(s); }
        @Override public String describe() { return "sgd reading a scalar mid-step"; }
        @Override public void close() { probe.close(); inner.close(); }
    }

    @Test
    void aStepThatCannotBeCapturedFallsBackWithOneNotice() {
        try (CpuBackend cpu = new CpuBackend()) {
            List<String> notes = new ArrayList<>();
            float[] eager = trainWith(cpu, m -> Optimizers.create("sgd", m, new Optimizers.Options().lr(0.05f), null), notes);
            float[] graphed = trainWith(RecordingBackend.wrap(cpu), HostReadingSgd::new, notes);
            assertEquals(1, notes.size(), "one notice: " + notes);
            assertTrue(notes.get(0).contains("graph capture of the host-reading-sgd step failed")
                    && notes.get(0).contains("readScalar"), notes.get(0));
            assertArrayEquals(eager, graphed, "the failed capture ran nothing and the step ran eagerly");
        }
    }

    @Test
    void captureRejectsAllocationAndHostCopies() {
        try (CpuBackend cpu = new CpuBackend()) {
            Backend rec = RecordingBackend.wrap(cpu);
            try (Tensor t = rec.zeros(2, 2)) {
                BackendException e = org.junit.jupiter.api.Assertions.assertThrows(BackendException.class,
                        () -> rec.captureGraph(() -> rec.zeros(1, 1)));
                assertTrue(e.getMessage().startsWith("zeros: not allowed"), e.getMessage());
                e = org.junit.jupiter.api.Assertions.assertThrows(BackendException.class,
                        () -> rec.captureGraph(() -> rec.upload(new float[4], t)));
                assertTrue(e.getMessage().startsWith("upload: not allowed"), e.getMessage());
                // after a failed capture the backend works normally
                rec.fill(t, 2f);
                assertArrayEquals(new float[] {2, 2, 2, 2}, rec.download(t));
                Backend.Graph g = rec.captureGraph(() -> rec.scale(3f, t));
                assertNotNull(g);
                assertArrayEquals(new float[] {2, 2, 2, 2}, rec.download(t), "capture runs nothing");
                g.launch();
                g.launch();
                assertArrayEquals(new float[] {18, 18, 18, 18}, rec.download(t));
            }
        }
    }
}
