package org.fishleg.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.data.Dataset;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.fishleg.optim.CurvatureException;
import org.fishleg.optim.LearningRateAdjustable;
import org.fishleg.optim.Optimizer;
import org.fishleg.optim.OptimizerState;
import org.fishleg.optim.Optimizers;
import org.fishleg.optim.fishleg.FishLegConfig;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The training loop: metrics rows, running-mean losses, evaluation, checkpoints, exact resume, divergence. */
class TrainerTest {

    @TempDir Path tmp;

    static final MlpSpec SPEC = MlpSpec.parse("12-6-12:linear");

    /** Auto-encoder data in [0, 1] with some structure (two prototypes plus noise). */
    static Dataset data(String name, int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * 12];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < 12; j++) {
                double base = (i % 2 == 0) == (j < 6) ? 0.8 : 0.2;
                x[i * 12 + j] = (float) Math.min(1, Math.max(0, base + 0.15 * r.nextGaussian()));
            }
        return Dataset.autoencoder(name, x, n, 12, null);
    }

    static List<String[]> csv(Path p) throws IOException {
        List<String[]> rows = new ArrayList<>();
        for (String l : Files.readAllLines(p, StandardCharsets.UTF_8)) rows.add(l.split(",", -1));
        return rows;
    }

    private static Optimizer optimizer(String name, Mlp m, Trainer t) {
        FishLegConfig fl = FishLegConfig.builder().auxBatchSize(16).auxEvery(3).lr(0.05f).build();
        return Optimizers.create(name, m, new Optimizers.Options().lr(name.equals("fishleg") ? null : 0.05f).fishLeg(fl), t.auxSource());
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void metricsCsvHasTheRequiredRowsAndRunningMeans(Backend b) throws IOException {
        Path metrics = tmp.resolve("sub/m.csv");
        TrainerConfig cfg = TrainerConfig.builder().batchSize(20).epochs(3).logEvery(5).seed(4).metrics(metrics).build();
        List<Float> batchLosses = new ArrayList<>();
        try (DeviceDataset train = DeviceDataset.upload(b, data("train", 240, 1));
             DeviceDataset test = DeviceDataset.upload(b, data("test", 50, 2));
             Mlp m = new Mlp(b, SPEC, Likelihood.bernoulli())) {
            m.init(4);
            TrainResult r;
            try (Trainer t = new Trainer(m, train, test, cfg, null); Optimizer o = optimizer("momentum", m, t)) {
                assertEquals(12, t.stepsPerEpoch());
                assertEquals(36, t.totalSteps());
                r = t.run(o);
                assertFalse(r.diverged);
                assertEquals(36, r.steps);
                // the last test loss is the mean NLL over the whole test set
                try (Tensor l = b.zeros(1, 1)) {
                    m.loss(test.x(), test.y(), l);
                    assertEquals(b.readScalar(l), r.lastTestLoss, 1e-4 * Math.abs(r.lastTestLoss));
                    assertEquals(b.readScalar(l), t.evaluate(test), 1e-4 * Math.abs(r.lastTestLoss));
                }
            }
            // replay the same steps by hand: same init, batch order from IndexStream, loss read every step
            m.init(4);
            IndexStream s = new IndexStream(240, 4);
            try (Tensor x = b.zeros(20, 12); Tensor l = b.zeros(1, 1);
                 Optimizer o = Optimizers.create("momentum", m, new Optimizers.Options().lr(0.05f), null)) {
                for (int i = 0; i < 36; i++) {
                    IndexStream.Batch bt = s.takeBatch(20);
                    b.gatherRows(train.x(), bt.permutation, bt.start, x);
                    o.step(m, x, x, l);
                    batchLosses.add(b.readScalar(l));
                }
            }
        }
        List<String[]> rows = csv(metrics);
        assertEquals("step,epoch,wall_seconds,train_loss,test_loss", String.join(",", rows.get(0)), "no squared errors for Bernoulli");
        org.fishleg.plot.MetricsCsv read = org.fishleg.plot.MetricsCsv.read(metrics);
        assertFalse(read.hasMse);
        assertTrue(Double.isNaN(read.testMse[0]));
        long[] steps = {0, 5, 10, 12, 15, 20, 24, 25, 30, 35, 36};
        assertEquals(steps.length + 1, rows.size(), "rows: every 5 steps, at epoch ends, and the evaluation at step 0");
        double prevWall = -1;
        int prevStep = 0;
        for (int i = 0; i < steps.length; i++) {
            String[] row = rows.get(i + 1);
            assertEquals(5, row.length);
            assertEquals(steps[i], Long.parseLong(row[0]));
            assertEquals(steps[i] / 12.0, Double.parseDouble(row[1]), 1e-4);
            double wall = Double.parseDouble(row[2]);
            assertTrue(wall >= prevWall);
            prevWall = wall;
            boolean eval = steps[i] % 12 == 0;
            assertEquals(eval, !row[4].isEmpty(), "test_loss only on evaluation rows, step " + steps[i]);
            if (steps[i] == 0) {
                assertTrue(row[3].isEmpty(), "no training loss before the first step");
                continue;
            }
            double mean = 0;
            for (int k = prevStep; k < steps[i]; k++) mean += batchLosses.get(k);
            mean /= (steps[i] - prevStep);
            assertEquals(mean, Double.parseDouble(row[3]), 1e-4 * Math.abs(mean) + 1e-5,
                    "train_loss at step " + steps[i] + " is the mean batch loss since the previous row");
            prevStep = (int) steps[i];
        }
        double first = Double.parseDouble(rows.get(2)[3]), last = Double.parseDouble(rows.get(rows.size() - 1)[3]);
        assertTrue(last < first, "training lowers the loss: " + first + " -> " + last);
    }

    /** Runs to {@code steps} total, optionally resuming; returns the parameters. */
    private float[] run(Backend b, String opt, long steps, Path metrics, Path ckDir, long ckEvery, Path resume) {
        return run(b, opt, Sampling.SHUFFLE, steps, metrics, ckDir, ckEvery, resume);
    }

    /** As above with a sampling (batches of 20 of the 100 training examples, all 100 for FULL). */
    private float[] run(Backend b, String opt, Sampling sampling, long steps, Path metrics, Path ckDir, long ckEvery, Path resume) {
        return run(b, opt, sampling, LrSchedule.CONSTANT, steps, metrics, ckDir, ckEvery, resume);
    }

    /** As above with a learning-rate schedule. */
    private float[] run(Backend b, String opt, Sampling sampling, LrSchedule schedule, long steps, Path metrics, Path ckDir,
            long ckEvery, Path resume) {
        TrainerConfig cfg = TrainerConfig.builder().batchSize(sampling == Sampling.FULL ? 100 : 20).steps(steps).logEvery(4).seed(9)
                .metrics(metrics).sampling(sampling).lrSchedule(schedule)
                .checkpointDir(ckDir).checkpointEvery(ckEvery).keepCheckpoints(true).resume(resume).build();
        try (DeviceDataset train = DeviceDataset.upload(b, data("train", 100, 1));
             DeviceDataset test = DeviceDataset.upload(b, data("test", 30, 2));
             Mlp m = new Mlp(b, SPEC, Likelihood.bernoulli())) {
            m.init(9);
            try (Trainer t = new Trainer(m, train, test, cfg, null); Optimizer o = optimizer(opt, m, t)) {
                TrainResult r = t.run(o);
                assertFalse(r.diverged, r.message);
                assertEquals(steps, r.steps);
                return b.download(m.params());
            }
        }
    }

    private static List<String> withoutWall(Path csv) throws IOException {
        List<String> out = new ArrayList<>();
        for (String l : Files.readAllLines(csv)) {
            String[] f = l.split(",", -1);
            out.add(f[0] + "," + f[1] + "," + f[3] + "," + f[4]);
        }
        return out;
    }

    /**
     * 23 steps straight vs a run with checkpoints every 7 steps, resumed from its step-7 checkpoint (between two
     * metrics rows, at 5 and 8) to 23: identical parameters and metrics. Data order, optimizer state, FishLeg's
     * auxiliary sampler and random stream, and the partly accumulated training loss all travel in the checkpoint.
     */
    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void resumeContinuesBitExactly(Backend b) throws IOException {
        for (String opt : new String[] {"momentum", "adam", "fishleg"}) {
            Path d = tmp.resolve(opt);
            float[] straight = run(b, opt, 23, d.resolve("straight.csv"), null, 0, null);
            Path ck = d.resolve("ck");
            float[] withCheckpoints = run(b, opt, 23, d.resolve("resumed.csv"), ck, 7, null); // at 7, 14, 21, 23
            assertArrayEquals(straight, withCheckpoints, opt + ": checkpointing changed the run");
            assertEquals(23, Checkpoint.read(ck.resolve(Checkpoint.LATEST)).step);
            Path file = ck.resolve(Checkpoint.stepFile(7));
            Checkpoint c = Checkpoint.read(file);
            assertEquals(7, c.step);
            assertEquals(2, c.lossCount, "the 2 batch losses since the row at step 5 (an epoch end) travel in the checkpoint");
            assertNotNull(c.optimizerState);
            float[] resumed = run(b, opt, 23, d.resolve("resumed.csv"), null, 0, file);
            assertArrayEquals(straight, resumed, opt + ": resumed parameters differ from the uninterrupted run");
            assertEquals(withoutWall(d.resolve("straight.csv")), withoutWall(d.resolve("resumed.csv")),
                    opt + ": metrics of the resumed run differ");
        }
    }

    /**
     * Bootstrap batches (draws with replacement, training and auxiliary): a run checkpointed at step 7 and
     * resumed equals the uninterrupted run exactly, parameters and metrics; the checkpoint names its sampling
     * and a run with another sampling refuses it.
     */
    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void bootstrapRunInterruptedAndResumedEqualsTheUninterruptedOne(Backend b) throws IOException {
        for (String opt : new String[] {"momentum", "fishleg"}) {
            Path d = tmp.resolve("boot-" + opt);
            float[] straight = run(b, opt, Sampling.BOOTSTRAP, 23, d.resolve("straight.csv"), null, 0, null);
            float[] shuffled = run(b, opt, Sampling.SHUFFLE, 23, null, null, 0, null);
            assertFalse(java.util.Arrays.equals(straight, shuffled), opt + ": bootstrap and shuffle batches train differently");
            Path ck = d.resolve("ck");
            run(b, opt, Sampling.BOOTSTRAP, 10, d.resolve("resumed.csv"), ck, 7, null); // interrupted at step 10
            Path file = ck.resolve(Checkpoint.stepFile(7));
            Checkpoint c = Checkpoint.read(file);
            assertEquals("bootstrap", c.sampling);
            assertEquals(7, c.step);
            float[] resumed = run(b, opt, Sampling.BOOTSTRAP, 23, d.resolve("resumed.csv"), null, 0, file);
            assertArrayEquals(straight, resumed, opt + ": resumed bootstrap run differs from the uninterrupted one");
            assertEquals(withoutWall(d.resolve("straight.csv")), withoutWall(d.resolve("resumed.csv")),
                    opt + ": metrics of the resumed bootstrap run differ");
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> run(b, opt, Sampling.SHUFFLE, 23, null, null, 0, file));
            assertTrue(e.getMessage().contains("bootstrap sampling") && e.getMessage().contains("shuffle"), e.getMessage());
        }
    }

    /** Full sampling: every step is a step on the whole training set, as a hand-written loop does it. */
    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void fullSamplingStepsOnTheWholeTrainingSet(Backend b) {
        float[] viaTrainer = run(b, "momentum", Sampling.FULL, 6, null, null, 0, null);
        try (DeviceDataset train = DeviceDataset.upload(b, data("train", 100, 1));
             Mlp m = new Mlp(b, SPEC, Likelihood.bernoulli());
             Tensor l = b.zeros(1, 1);
             Optimizer o = Optimizers.create("momentum", m, new Optimizers.Options().lr(0.05f), null)) {
            m.init(9);
            for (int i = 0; i < 6; i++) o.step(m, train.x(), train.x(), l);
            assertArrayEquals(b.download(m.params()), viaTrainer);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(m, train, null,
                    TrainerConfig.builder().batchSize(20).sampling(Sampling.FULL).build(), null));
            assertTrue(e.getMessage().contains("full sampling"), e.getMessage());
        }
        // FishLeg under full sampling runs (its auxiliary batches are the whole set, in order)
        run(b, "fishleg", Sampling.FULL, 4, null, null, 0, null);
    }

    /**
     * A checkpoint of the earlier binary format (magic "FISHLEG-CKPT", written with DataOutputStream.writeUTF) is
     * refused with a message that says the format changed and the run must be restarted.
     */
    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void oldBinaryCheckpointsAreRefusedWithAClearMessage(Backend b) throws IOException {
        Path old = tmp.resolve("old.ckpt");
        try (java.io.DataOutputStream out = new java.io.DataOutputStream(Files.newOutputStream(old))) {
            out.writeUTF("FISHLEG-CKPT");
            out.writeInt(2);
            out.writeUTF(SPEC.toString());
        }
        CheckpointException e = assertThrows(CheckpointException.class, () -> run(b, "fishleg", 23, null, null, 0, old));
        assertTrue(e.getMessage().contains("earlier binary format") && e.getMessage().contains("restart the run"), e.getMessage());
    }

    /**
     * A Gaussian likelihood adds train_mse and test_mse: mean ||f(x) - y||^2 over the whole sets, on evaluation
     * rows only; with sigma = 1 the test NLL is test_mse / 2 + k ln(2 pi) / 2.
     */
    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void gaussianMetricsHaveSquaredErrorColumns(Backend b) throws IOException {
        Path metrics = tmp.resolve("g.csv");
        TrainerConfig cfg = TrainerConfig.builder().batchSize(20).epochs(2).logEvery(3).seed(4).metrics(metrics).build();
        Dataset trainData = data("train", 100, 1), testData = data("test", 30, 2);
        TrainResult r;
        double hostTrain, hostTest;
        try (DeviceDataset train = DeviceDataset.upload(b, trainData);
             DeviceDataset test = DeviceDataset.upload(b, testData);
             Mlp m = new Mlp(b, SPEC, Likelihood.gaussian(1f))) {
            m.init(4);
            try (Trainer t = new Trainer(m, train, test, cfg, null); Optimizer o = optimizer("momentum", m, t)) {
                assertTrue(t.reportsSquaredError());
                r = t.run(o);
                assertFalse(r.diverged, r.message);
            }
            hostTrain = hostMse(b, m, train);
            hostTest = hostMse(b, m, test);
        }
        assertEquals(hostTrain, r.lastTrainMse, 1e-5 * hostTrain);
        assertEquals(hostTest, r.lastTestMse, 1e-5 * hostTest);
        List<String[]> rows = csv(metrics);
        assertEquals(MetricsWriter.MSE_HEADER, String.join(",", rows.get(0)));
        assertEquals("step,epoch,wall_seconds,train_loss,test_loss,train_mse,test_mse", MetricsWriter.MSE_HEADER);
        int evalRows = 0;
        for (String[] row : rows.subList(1, rows.size())) {
            assertEquals(7, row.length, String.join(",", row));
            boolean eval = !row[4].isEmpty();
            assertEquals(eval, !row[5].isEmpty(), "train_mse only on evaluation rows: " + String.join(",", row));
            assertEquals(eval, !row[6].isEmpty(), "test_mse only on evaluation rows: " + String.join(",", row));
            if (!eval) continue;
            evalRows++;
            double testLoss = Double.parseDouble(row[4]), testMse = Double.parseDouble(row[6]);
            assertEquals(12 * 0.5 * Math.log(2 * Math.PI), testLoss - testMse / 2, 1e-4, "sigma 1: NLL = mse / 2 + const");
        }
        assertEquals(3, evalRows, "steps 0, 5 and 10");
        String[] last = rows.get(rows.size() - 1);
        assertEquals("10", last[0]);
        assertEquals(hostTrain, Double.parseDouble(last[5]), 1e-5 * hostTrain);
        assertEquals(hostTest, Double.parseDouble(last[6]), 1e-5 * hostTest);
        // read back for plotting
        org.fishleg.plot.MetricsCsv read = org.fishleg.plot.MetricsCsv.read(metrics);
        assertTrue(read.hasMse);
        assertEquals(hostTest, read.testMse[read.rows() - 1], 1e-5 * hostTest);
        assertTrue(Double.isNaN(read.trainMse[1]), "no squared error on a row without evaluation");
        // a resumed file keeps the squared-error header
        try (MetricsWriter w = MetricsWriter.resume(metrics, 5, true)) {
            w.row(6, 1.2, 1.0, 2.0, null);
        }
        List<String[]> again = csv(metrics);
        assertEquals(MetricsWriter.MSE_HEADER, String.join(",", again.get(0)));
        assertEquals("6,1.2000,1.000,2.000000,,,", String.join(",", again.get(again.size() - 1)));
    }

    /** Mean over rows of ||f(x) - y||^2 computed on the host from the model's output. */
    private static double hostMse(Backend b, Mlp m, DeviceDataset d) {
        float[] x = b.download(d.y());
        float[] f = b.download(m.forward(d.x()));
        double sum = 0;
        for (int i = 0; i < f.length; i++) sum += (double) (f[i] - x[i]) * (f[i] - x[i]);
        return sum / d.n();
    }

    /**
     * A stop requested mid-run (as Ctrl-C does) ends after the step in progress with its checkpoint written and
     * no extra metrics row (step 7 is between the rows at 5 and 8); resuming from that checkpoint gives the
     * uninterrupted run exactly, parameters and metrics CSV.
     */
    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void requestedStopCheckpointsAndResumesExactly(Backend b) throws IOException {
        Path d = tmp.resolve("stop");
        float[] straight = run(b, "fishleg", 23, d.resolve("straight.csv"), null, 0, null);
        Path ck = d.resolve("ck");
        TrainerConfig cfg = TrainerConfig.builder().batchSize(20).steps(23).logEvery(4).seed(9).metrics(d.resolve("stopped.csv"))
                .checkpointDir(ck).build();
        try (DeviceDataset train = DeviceDataset.upload(b, data("train", 100, 1));
             DeviceDataset test = DeviceDataset.upload(b, data("test", 30, 2));
             Mlp m = new Mlp(b, SPEC, Likelihood.bernoulli())) {
            m.init(9);
            Trainer[] self = new Trainer[1];
            TrainingProgress p = new TrainingProgress() {
                @Override public void stepped(long step) { if (step == 7) self[0].requestStop(); }
            };
            try (Trainer t = new Trainer(m, train, test, cfg, p); Optimizer o = optimizer("fishleg", m, t)) {
                self[0] = t;
                TrainResult r = t.run(o);
                assertTrue(r.interrupted, "interrupted");
                assertFalse(r.diverged);
                assertEquals(7, r.steps);
                assertTrue(r.message.contains("interrupted at step 7") && r.message.contains("checkpoint saved"), r.message);
            }
        }
        Checkpoint c = Checkpoint.read(ck.resolve(Checkpoint.LATEST));
        assertEquals(7, c.step);
        assertEquals(2, c.lossCount, "the losses of steps 6 and 7 travel in the checkpoint");
        List<String[]> rows = csv(d.resolve("stopped.csv"));
        assertEquals("5", rows.get(rows.size() - 1)[0], "no metrics row for the stop step");
        float[] resumed = run(b, "fishleg", 23, d.resolve("stopped.csv"), null, 0, ck.resolve(Checkpoint.LATEST));
        assertArrayEquals(straight, resumed, "resumed after a requested stop differs from the uninterrupted run");
        assertEquals(withoutWall(d.resolve("straight.csv")), withoutWall(d.resolve("stopped.csv")),
                "the metrics of a stopped and resumed run differ from the uninterrupted run's");
    }

    /**
     * A stop (Ctrl-C, SIGTERM) that arrives while a test evaluation is due or running abandons it instead of waiting
     * for it: at step 10 (an epoch end, evaluation due) the row goes out without the test loss and the checkpoint
     * holds the state after that row; during the evaluation before the first step the run returns at once, saving
     * nothing.
     */
    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void stopAbandonsTestEvaluation(Backend b) throws IOException {
        Path d = tmp.resolve("stop-eval");
        for (int at : new int[] {10, -1}) {
            Path ck = d.resolve("ck" + at), csvFile = d.resolve("m" + at + ".csv");
            TrainerConfig cfg = TrainerConfig.builder().batchSize(20).steps(23).logEvery(4).seed(9).metrics(csvFile)
                    .checkpointDir(ck).build();
            try (DeviceDataset train = DeviceDataset.upload(b, data("train", 100, 1));
                 DeviceDataset test = DeviceDataset.upload(b, data("test", 30, 2));
                 Mlp m = new Mlp(b, SPEC, Likelihood.bernoulli())) {
                m.init(9);
                Trainer[] self = new Trainer[1];
                TrainingProgress p = new TrainingProgress() {
                    @Override public void started(long step, long total, int bpe) { if (at < 0) self[0].requestStop(); }
                    @Override public void stepped(long step) { if (step == at) self[0].requestStop(); }
                    @Override public void evaluated(long step, double loss) { assertTrue(step != at, "evaluated at the stop step"); }
                };
                try (Trainer t = new Trainer(m, train, test, cfg, p); Optimizer o = optimizer("fishleg", m, t)) {
                    self[0] = t;
                    TrainResult r = t.run(o);
                    assertTrue(r.interrupted, "interrupted");
                    if (at < 0) {
                        assertEquals(0, r.steps);
                        assertTrue(r.message.contains("before the first step"), r.message);
                        assertFalse(java.nio.file.Files.exists(ck.resolve(Checkpoint.LATEST)), "nothing to save before a step");
                        assertTrue(csv(csvFile).size() <= 1, "no metrics rows");
                        continue;
                    }
                    assertEquals(10, r.steps);
                    assertTrue(r.message.contains("interrupted at step 10") && r.message.contains("abandoned"), r.message);
                }
            }
            Checkpoint c = Checkpoint.read(ck.resolve(Checkpoint.LATEST));
            assertEquals(10, c.step);
            assertEquals(0, c.lossCount, "the row of step 10 was written: nothing accumulated after it");
            List<String[]> rows = csv(csvFile);
            String[] last = rows.get(rows.size() - 1);
            assertEquals("10", last[0], "the stop step's row");
            assertTrue(last.length < 5 || last[4].isEmpty(), "no test loss in the row of an abandoned evaluation: " + String.join(",", last));
        }
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void resumeRejectsCheckpointOfAnotherModel(Backend b) {
        Path ck = tmp.resolve("ck");
        run(b, "momentum", 3, null, ck, 0, null);
        TrainerConfig cfg = TrainerConfig.builder().batchSize(20).steps(6).resume(ck.resolve(Checkpoint.LATEST)).build();
        try (DeviceDataset train = DeviceDataset.upload(b, data("train", 100, 1));
             Mlp m = new Mlp(b, MlpSpec.parse("12-5-12:linear"), Likelihood.bernoulli());
             Trainer t = new Trainer(m, train, null, cfg, null);
             Optimizer o = Optimizers.create("momentum", m, null, null)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> t.run(o));
            assertTrue(e.getMessage().contains("12-6-12:linear"), e.getMessage());
        }
        try (DeviceDataset train = DeviceDataset.upload(b, data("train", 100, 1));
             Mlp m = new Mlp(b, SPEC, Likelihood.bernoulli());
             Trainer t = new Trainer(m, train, null, cfg, null);
             Optimizer o = Optimizers.create("adam", m, null, null)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> t.run(o));
            assertTrue(e.getMessage().contains("momentum"), e.getMessage());
        }
        assertThrows(CheckpointException.class, () -> Checkpoint.read(tmp.resolve("missing.ckpt")));
    }

    /** A huge learning rate on a linear Gaussian model: the run stops, no NaN reaches a checkpoint. */
    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void divergenceStopsCleanlyAndSavesOnlyFiniteParameters(Backend b) throws IOException {
        Path ck = tmp.resolve("ck"), metrics = tmp.resolve("d.csv");
        // the finite-blow-up check off: this test is about the non-finite path (the next test covers the check)
        TrainerConfig cfg = TrainerConfig.builder().batchSize(20).steps(500).logEvery(1).seed(2).metrics(metrics)
                .checkpointDir(ck).checkpointEvery(2).divergenceFactor(0).build();
        List<String> messages = new ArrayList<>();
        TrainingProgress p = new TrainingProgress() {
            @Override public void message(String line) { messages.add(line); }
        };
        try (DeviceDataset train = DeviceDataset.upload(b, data("train", 100, 1));
             Mlp m = new Mlp(b, MlpSpec.parse("12-12:linear-12:linear"), Likelihood.gaussian(1f));
             Trainer t = new Trainer(m, train, null, cfg, p);
             Optimizer o = Optimizers.create("sgd", m, new Optimizers.Options().lr(30f), null)) {
            m.init(2);
            TrainResult r = t.run(o);
            assertTrue(r.diverged);
            assertTrue(r.steps < 500);
            long n = r.steps;
            assertTrue(r.message.startsWith("loss became NaN at step " + n) || r.message.startsWith("loss became infinite at step " + n)
                    || r.message.startsWith("parameters became non-finite at step " + n), r.message);
            Checkpoint last = Checkpoint.read(ck.resolve(Checkpoint.LAST_FINITE));
            assertTrue(r.message.contains("parameters left at step " + last.step + " were saved to " + ck.resolve(Checkpoint.LAST_FINITE)),
                    r.message);
            assertEquals(n - 1, last.step, "with --log-every 1 the saved parameters are those of step N-1");
            assertTrue(last.parametersOnly());
            for (float v : last.params) assertTrue(Float.isFinite(v), "NaN in " + Checkpoint.LAST_FINITE);
            Checkpoint latest = Checkpoint.read(ck.resolve(Checkpoint.LATEST));
            assertTrue(latest.step < n);
            for (float v : latest.params) assertTrue(Float.isFinite(v), "NaN in " + Checkpoint.LATEST);
            assertTrue(messages.contains(r.message));
            List<String[]> rows = csv(metrics);
            String[] lastRow = rows.get(rows.size() - 1);
            assertEquals(n, Long.parseLong(lastRow[0]));
            assertTrue(lastRow[3].equals("nan") || lastRow[3].equals("inf") || r.message.startsWith("parameters"), String.join(",", lastRow));

            // the parameters-only file loads (the optimizer state starts afresh): a run that is already complete
            TrainerConfig again = cfg.toBuilder().resume(ck.resolve(Checkpoint.LAST_FINITE)).steps(last.step).checkpointDir(null)
                    .metrics(null).build();
            m.init(5);
            try (Trainer t2 = new Trainer(m, train, null, again, null);
                 Optimizer o2 = Optimizers.create("sgd", m, new Optimizers.Options().lr(1e-3f), null)) {
                TrainResult r2 = t2.run(o2);
                assertFalse(r2.diverged, r2.message);
                assertEquals(last.step, r2.steps);
                assertArrayEquals(last.params, b.download(m.params()));
            }
        }
    }

    /**
     * A blow-up that stays finite (from the 6th step on, the step only multiplies all parameters by 3, so the squared
     * error grows about 81-fold a step) stops at the first logged loss above L1 + F max(|L1|, 1), saving the last parameters
     * below it; with the check off (factor 0) the same run goes on to its end with a loss above 1e10.
     */
    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void finiteBlowUpStopsAtTheDivergenceLimit(Backend b) throws IOException {
        for (double factor : new double[] {TrainerConfig.DEFAULT_DIVERGENCE_FACTOR, 0}) {
            Path ck = tmp.resolve("blow-" + factor), metrics = tmp.resolve("blow-" + factor + ".csv");
            TrainerConfig cfg = TrainerConfig.builder().batchSize(20).steps(15).logEvery(1).seed(2).metrics(metrics)
                    .checkpointDir(ck).divergenceFactor(factor).build();
            try (DeviceDataset train = DeviceDataset.upload(b, data("train", 100, 1));
                 Mlp m = new Mlp(b, MlpSpec.parse("12-12:linear-12:linear"), Likelihood.gaussian(1f));
                 Trainer t = new Trainer(m, train, null, cfg, null);
                 Optimizer sgd = Optimizers.create("sgd", m, new Optimizers.Options().lr(1e-3f), null)) {
                m.init(2);
                Optimizer blowing = new Recording(sgd) {
                    long steps;
                    @Override public void step(Mlp model, Tensor x, Tensor y, Tensor lossOut) {
                        if (++steps <= 5) sgd.step(model, x, y, lossOut);
                        else {
                            model.loss(x, y, lossOut);
                            b.scale(3f, model.params());
                        }
                    }
                    @Override public long stepCount() { return steps; }
                    @Override public String name() { return sgd.name(); } // its state goes into the final checkpoint
                };
                TrainResult r = t.run(blowing);
                List<String[]> rows = csv(metrics);
                double first = Double.parseDouble(rows.get(1)[3]);
                String[] lastRow = rows.get(rows.size() - 1);
                double lastLoss = Double.parseDouble(lastRow[3]);
                assertTrue(Double.isFinite(lastLoss), String.join(",", lastRow));
                if (factor == 0) {
                    assertFalse(r.diverged, r.message);
                    assertEquals(15, r.steps);
                    assertTrue(lastLoss > 1e10, "the blow-up went on: " + lastLoss);
                    continue;
                }
                double limit = first + factor * Math.max(Math.abs(first), 1);
                assertTrue(r.diverged, "a finite blow-up past the limit is a divergence");
                assertTrue(r.steps > 6 && r.steps < 15, "stopped at step " + r.steps);
                assertTrue(r.message.startsWith("loss rose to "), r.message);
                assertTrue(r.message.contains(" at step " + r.steps + ", above the divergence limit "), r.message);
                assertTrue(r.message.contains("F = 100 (--divergence-factor"), r.message);
                assertEquals(r.steps, Long.parseLong(lastRow[0]));
                assertTrue(lastLoss > limit, lastLoss + " <= " + limit);
                double before = Double.parseDouble(rows.get(rows.size() - 2)[3]);
                assertTrue(before <= limit, "the row before is below the limit: " + before + " > " + limit);
                Checkpoint last = Checkpoint.read(ck.resolve(Checkpoint.LAST_FINITE));
                assertEquals(r.steps - 1, last.step);
                assertTrue(r.message.contains("were saved to " + ck.resolve(Checkpoint.LAST_FINITE)), r.message);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> TrainerConfig.builder().divergenceFactor(-1).build());
        assertThrows(IllegalArgumentException.class, () -> TrainerConfig.builder().divergenceFactor(Double.NaN).build());
    }

    /**
     * An optimizer whose curvature breaks down (KFAC: a factor that cannot be inverted) stops the run as a
     * divergence with its message, not as an internal error, and leaves finite parameters in the checkpoint.
     */
    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void curvatureBreakdownStopsTheRunAsDivergence(Backend b) throws IOException {
        Path ck = tmp.resolve("curv");
        TrainerConfig cfg = TrainerConfig.builder().batchSize(20).steps(50).logEvery(1).seed(2).checkpointDir(ck).build();
        try (DeviceDataset train = DeviceDataset.upload(b, data("train", 100, 1));
             Mlp m = new Mlp(b, SPEC, Likelihood.bernoulli());
             Trainer t = new Trainer(m, train, null, cfg, null);
             Optimizer sgd = Optimizers.create("sgd", m, new Optimizers.Options().lr(0.1f), null)) {
            m.init(2);
            Optimizer breaking = new Optimizer() {
                @Override public String name() { return "breaking"; }
                @Override public void step(Mlp model, Tensor x, Tensor y, Tensor lossOut) {
                    if (sgd.stepCount() == 3)
                        throw new CurvatureException("KFAC: the A factor of layer 0 (13x13) cannot be inverted", null);
                    sgd.step(model, x, y, lossOut);
                }
                @Override public long stepCount() { return sgd.stepCount(); }
                @Override public OptimizerState state() { return sgd.state(); }
                @Override public void loadState(OptimizerState s) { sgd.loadState(s); }
                @Override public String describe() { return "breaking sgd"; }
                @Override public void close() { }
            };
            TrainResult r = t.run(breaking);
            assertTrue(r.diverged, "a curvature breakdown is a divergence");
            assertEquals(4, r.steps);
            assertTrue(r.message.startsWith("the optimizer's curvature broke down at step 4 (KFAC: the A factor of layer 0"), r.message);
            Checkpoint last = Checkpoint.read(ck.resolve(Checkpoint.LAST_FINITE));
            assertEquals(3, last.step);
            for (float v : last.params) assertTrue(Float.isFinite(v));
            assertArrayEquals(last.params, b.download(m.params()), "the failing step moved no parameter");
        }
    }

    /**
     * A schedule sets each step's learning rate from the step count and the run's total, gives the optimizer its own
     * rate back at the end, and is refused for an optimizer whose rate cannot change.
     */
    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void lrScheduleSetsEveryStepsLearningRate(Backend b) {
        LrSchedule sched = LrSchedule.parse("linear,start=0.25,floor=0.1");
        TrainerConfig cfg = TrainerConfig.builder().batchSize(20).steps(12).seed(3).lrSchedule(sched).build();
        try (DeviceDataset train = DeviceDataset.upload(b, data("train", 100, 1));
             Mlp m = new Mlp(b, SPEC, Likelihood.bernoulli());
             Trainer t = new Trainer(m, train, null, cfg, null);
             Optimizer sgd = Optimizers.create("momentum", m, new Optimizers.Options().lr(0.2f), null)) {
            m.init(3);
            LearningRateAdjustable adj = (LearningRateAdjustable) sgd;
            List<Float> seen = new ArrayList<>();
            class Adjustable extends Recording implements LearningRateAdjustable {
                Adjustable() { super(sgd); }
                @Override public void step(Mlp model, Tensor x, Tensor y, Tensor lossOut) {
                    seen.add(adj.learningRate());
                    sgd.step(model, x, y, lossOut);
                }
                @Override public float learningRate() { return adj.learningRate(); }
                @Override public void setLearningRate(float lr) { adj.setLearningRate(lr); }
            }
            Optimizer recording = new Adjustable();
            assertFalse(t.run(recording).diverged);
            assertEquals(12, seen.size());
            for (int s = 0; s < 12; s++)
                assertEquals((float) (0.2f * sched.factor(s, 12)), seen.get(s), 0f, "learning rate of step " + s);
            assertTrue(seen.get(11) < 0.2f * 0.3f, "the rate decayed: " + seen);
            assertEquals(0.2f, adj.learningRate(), 0f, "the optimizer's own rate is back after the run");

            Optimizer fixed = new Recording(sgd) {
                @Override public void step(Mlp model, Tensor x, Tensor y, Tensor lossOut) { sgd.step(model, x, y, lossOut); }
            };
            try (Trainer t2 = new Trainer(m, train, null, cfg, null)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t2.run(fixed));
                assertTrue(e.getMessage().contains("needs an optimizer whose learning rate can change; recording cannot"), e.getMessage());
            }
        }
    }

    /** An optimizer that forwards to another but does not expose its learning rate. */
    private abstract static class Recording implements Optimizer {
        final Optimizer inner;
        Recording(Optimizer inner) { this.inner = inner; }
        @Override public String name() { return "recording"; }
        @Override public long stepCount() { return inner.stepCount(); }
        @Override public OptimizerState state() { return inner.state(); }
        @Override public void loadState(OptimizerState s) { inner.loadState(s); }
        @Override public String describe() { return "recording " + inner.describe(); }
        @Override public void close() { }
    }

    /**
     * With a decaying schedule, a run resumed from a mid-run checkpoint continues the schedule exactly (the same
     * parameters as the uninterrupted run), for every optimizer kind; and the schedule changed the run.
     */
    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void lrScheduleResumesExactly(Backend b) throws IOException {
        LrSchedule sched = LrSchedule.parse("cosine,start=0.2,floor=0.05");
        for (String opt : new String[] {"momentum", "adam", "fishleg", "kfac"}) {
            Path d = tmp.resolve("sched-" + opt);
            float[] constant = run(b, opt, Sampling.SHUFFLE, LrSchedule.CONSTANT, 23, d.resolve("constant.csv"), null, 0, null);
            float[] straight = run(b, opt, Sampling.SHUFFLE, sched, 23, d.resolve("straight.csv"), null, 0, null);
            boolean differs = false;
            for (int i = 0; i < straight.length; i++) differs |= straight[i] != constant[i];
            assertTrue(differs, opt + ": the schedule changed nothing");
            Path ck = d.resolve("ck");
            run(b, opt, Sampling.SHUFFLE, sched, 23, d.resolve("resumed.csv"), ck, 7, null);
            float[] resumed = run(b, opt, Sampling.SHUFFLE, sched, 23, d.resolve("resumed.csv"), null, 0, ck.resolve(Checkpoint.stepFile(7)));
            assertArrayEquals(straight, resumed, opt + ": the resumed scheduled run differs from the uninterrupted one");
            assertEquals(withoutWall(d.resolve("straight.csv")), withoutWall(d.resolve("resumed.csv")), opt + ": metrics differ");
        }
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void rejectsDataOfTheWrongWidthOrTooSmall(Backend b) {
        try (DeviceDataset train = DeviceDataset.upload(b, data("train", 30, 1));
             Mlp m = new Mlp(b, MlpSpec.parse("10-4-10:linear"), Likelihood.bernoulli())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new Trainer(m, train, null, TrainerConfig.builder().build(), null));
            assertTrue(e.getMessage().contains("12 inputs"), e.getMessage());
        }
        try (DeviceDataset train = DeviceDataset.upload(b, data("train", 30, 1)); Mlp m = new Mlp(b, SPEC, Likelihood.bernoulli())) {
            assertThrows(IllegalArgumentException.class,
                    () -> new Trainer(m, train, null, TrainerConfig.builder().batchSize(31).build(), null));
        }
    }
}
