package org.fishleg.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Mlp;
import org.fishleg.optim.CurvatureException;
import org.fishleg.optim.LearningRateAdjustable;
import org.fishleg.optim.Optimizer;
import org.fishleg.optim.OptimizerState;
import org.fishleg.optim.fishleg.AuxBatchSource;

/**
 * The training loop. The training and test sets are uploaded to the backend once ({@link DeviceDataset});
 * each step gathers its mini-batch on the backend from a seeded index stream ({@link IndexStream}: a
 * permutation per epoch, draws with replacement or the whole set, as {@link TrainerConfig#sampling} says;
 * only the int indices leave the host), runs the optimizer step, and adds the batch loss to a device-resident
 * accumulator; on a backend with graphs (CUDA) a repeating step and its accumulation run as one replayed
 * graph ({@link StepGraphs}, {@link TrainerConfig#graphs}). The accumulator is read (the only device-to-host copy of a step) every
 * {@link TrainerConfig#logEvery} steps, at epoch ends and at the end, giving the metrics row's train_loss
 * (the mean of the batch losses since the previous row). The test loss (mean NLL over the full test set,
 * in batches) is evaluated at the start, every {@link TrainerConfig#evalEveryEpochs} epochs and at the end;
 * for a Gaussian likelihood so are the mean squared errors ||f(x) - y||^2 over the whole training and test
 * sets (the metrics' train_mse and test_mse columns), and with {@link TrainerConfig#evalTrainSet} the mean NLL over
 * the whole training set (train_set_loss, with the cumulative evaluation seconds in eval_seconds).
 *
 * <p>A non-finite loss stops the run ({@link TrainResult#diverged}), and so does a logged training loss above the
 * limit of {@link TrainerConfig#divergenceFactor} (a finite blow-up); checkpoints are only written after
 * checking that the losses since the last row and the parameters are finite. With a checkpoint folder the
 * parameters of the last finite metrics row are kept on the backend and saved ({@link Checkpoint#LAST_FINITE})
 * when the run diverges.
 *
 * <p>FishLeg's auxiliary batches come from {@link #auxSource()}: a second seeded sampler over the training
 * inputs with the same sampling, whose position is part of the checkpoint.
 */
public final class Trainer implements AutoCloseable {

    private final Mlp model;
    private final Backend backend;
    private final DeviceDataset train;
    private final DeviceDataset test;
    private final TrainerConfig cfg;
    private final TrainingProgress progress;
    private final IndexStream batches;
    private final DeviceAuxSource aux;
    private final Tensor xb, yb;
    private final boolean fullBatch;
    private final Tensor loss, acc, evalAcc, evalTmp, check;
    private final List<Tensor> owned = new ArrayList<>();
    private Tensor snapshot; // parameters at the last finite metrics row (only with a checkpoint folder)
    private final StepGraphs graphs;
    private final Runnable accumulate;

    /**
     * A trainer of {@code model} on {@code train} (evaluated on {@code test}, which may be null); {@code progress} may be null.
     * @param model the model to train
     * @param train the training set, on the model's backend
     * @param test the test set, or null
     * @param cfg the settings
     * @param progress receives progress, or null
     */
    public Trainer(Mlp model, DeviceDataset train, DeviceDataset test, TrainerConfig cfg, TrainingProgress progress) {
        this.model = model;
        this.backend = model.backend();
        this.train = train;
        this.test = test;
        this.cfg = cfg;
        this.progress = progress == null ? TrainingProgress.NONE : progress;
        checkWidths(train, "training");
        if (test != null) checkWidths(test, "test");
        if (cfg.batchSize > train.n())
            throw new IllegalArgumentException("batch size " + cfg.batchSize + " exceeds the " + train.n()
                    + " training examples of " + train.name());
        if (cfg.sampling == Sampling.FULL && cfg.batchSize != train.n())
            throw new IllegalArgumentException("full sampling trains on all " + train.n() + " examples of " + train.name()
                    + " every step; the batch size is " + cfg.batchSize);
        batches = new IndexStream(train.n(), cfg.seed, cfg.sampling);
        aux = new DeviceAuxSource(backend, train.x(), DeviceAuxSource.seedFor(cfg.seed), cfg.sampling);
        fullBatch = cfg.sampling == Sampling.FULL;
        if (fullBatch) { // every batch is the training set itself, in order: no gather
            xb = train.x();
            yb = train.y();
        } else {
            xb = own(cfg.batchSize, train.inputWidth());
            yb = train.targetsAreInputs() ? xb : own(cfg.batchSize, train.targetWidth());
        }
        loss = own(1, 1);
        acc = own(1, 1);
        evalAcc = own(1, 1);
        evalTmp = own(1, 1);
        check = own(1, 1);
        graphs = new StepGraphs(backend, cfg.graphs, this.progress::message);
        accumulate = () -> backend.scalarMulAdd(1f, loss, model.one(), 1f, acc);
    }

    private void checkWidths(DeviceDataset d, String what) {
        if (d.inputWidth() != model.spec().inputSize())
            throw new IllegalArgumentException("the " + what + " data " + d.name() + " has " + d.inputWidth()
                    + " inputs per example but the model " + model.spec() + " takes " + model.spec().inputSize());
        if (d.targetWidth() != model.spec().outputSize())
            throw new IllegalArgumentException("the " + what + " data " + d.name() + " has " + d.targetWidth()
                    + " targets per example but the model " + model.spec() + " outputs " + model.spec().outputSize());
    }

    private Tensor own(int r, int c) {
        Tensor t = backend.zeros(r, c);
        owned.add(t);
        return t;
    }

    /**
     * How the steps ran: eagerly or as replays of captured graphs (CUDA).
     * @return the step graphs
     */
    public StepGraphs graphs() { return graphs; }

    /**
     * FishLeg's auxiliary batches: a second seeded sampler over the training inputs.
     * @return the auxiliary batch source
     */
    public AuxBatchSource auxSource() { return aux; }

    /**
     * Batches per epoch (the remainder of each epoch is dropped).
     * @return the batches per epoch
     */
    public int stepsPerEpoch() { return batches.batchesPerEpoch(cfg.batchSize); }

    /**
     * Total steps this configuration runs to.
     * @return the total steps
     */
    public long totalSteps() { return cfg.steps > 0 ? cfg.steps : (long) cfg.epochs * stepsPerEpoch(); }

    /**
     * Mean NLL over all examples of {@code data}, evaluated in batches of {@link TrainerConfig#evalBatchSize}.
     * @param data a data set on the model's backend
     * @return the mean NLL
     */
    public double evaluate(DeviceDataset data) {
        return timedMean(data, false);
    }

    /**
     * Mean over all examples of {@code data} of ||f(x) - y||^2 (summed over outputs), evaluated in batches of
     * {@link TrainerConfig#evalBatchSize}.
     * @param data a data set on the model's backend
     * @return the mean squared error
     */
    public double meanSquaredError(DeviceDataset data) {
        return timedMean(data, true);
    }

    /** True when the metrics carry train_mse and test_mse: a Gaussian likelihood. */
    boolean reportsSquaredError() { return model.gaussian(); }

    private double timedMean(DeviceDataset data, boolean squaredError) {
        long t0 = System.nanoTime();
        try {
            return evaluateMean(data, squaredError);
        } finally {
            evalNanos += System.nanoTime() - t0;
        }
    }

    private long evalNanos;

    /**
     * Thrown by an evaluation inside {@link #run} when a stop is requested (Ctrl-C, SIGTERM): a test-set pass can take
     * far longer than a step, longer than a service manager waits between SIGTERM and SIGKILL, so it is abandoned
     * between evaluation batches instead of finished.
     */
    private static final class EvaluationAborted extends RuntimeException {
        private static final long serialVersionUID = 1L;
        EvaluationAborted() { super("evaluation abandoned: stop requested", null, false, false); }
    }

    /** True while {@link #run} runs: only its evaluations give way to a stop request. */
    private boolean running;

    private double evaluateMean(DeviceDataset data, boolean squaredError) {
        int n = data.n();
        int eb = Math.min(n, cfg.evalBatchSize);
        backend.fill(evalAcc, 0f);
        for (int a = 0; a < n; a += eb) {
            if (running && stopRequested) throw new EvaluationAborted();
            int b = Math.min(n, a + eb);
            if (squaredError) model.squaredError(data.x().rowRange(a, b), data.y().rowRange(a, b), evalTmp);
            else model.loss(data.x().rowRange(a, b), data.y().rowRange(a, b), evalTmp);
            backend.scalarMulAdd((float) (b - a) / n, evalTmp, model.one(), 1f, evalAcc);
        }
        return backend.readScalar(evalAcc);
    }

    /** Host-side copies of the sampler and random states at the last finite metrics row. */
    private long snapStep;
    private double snapWall;
    private long[] snapBatches, snapAux;
    private long snapRngSeed, snapRngOffset;
    private boolean haveSnapshot;

    /** The last checkpoint written in this session (step, path), for the divergence message. */
    private long lastCheckpointStep = -1;
    private Path lastCheckpointPath;

    /**
     * Runs to {@link #totalSteps()}, continuing from {@link TrainerConfig#resume} when set. Does not close the
     * optimizer.
     */
    private volatile boolean stopRequested;

    /**
     * Asks a running {@link #run} to stop after the step in progress: with a checkpoint folder it writes the
     * checkpoint of that step (holding the training loss accumulated since the last metrics row, so no extra
     * row is written and a resumed run's metrics equal an uninterrupted run's); without one it writes a metrics
     * row for that step. Then it returns a result with {@link TrainResult#interrupted} set. A test evaluation in
     * progress (or due after that step) is abandoned between its batches: the step's metrics row is then written
     * without the test loss (and squared errors), and the checkpoint holds the state after that row; a stop during
     * the evaluation before the first step returns at once and saves nothing (no step was taken). Safe to call from
     * another thread (e.g. a Ctrl-C or SIGTERM hook).
     */
    public void requestStop() { stopRequested = true; }

    /**
     * Trains with {@code opt} (built with {@link #auxSource()} for FishLeg), first resuming from {@link TrainerConfig#resume} when set, until the configured steps or epochs, a non-finite loss or {@link #requestStop()}.
     * @param opt the optimizer, built for this trainer's model
     * @return how the run went
     */
    public TrainResult run(Optimizer opt) {
        long step = 0;
        double wallOffset = 0;
        long accCount = 0;
        boolean resumed = false;
        backend.fill(acc, 0f);
        if (cfg.resume != null || cfg.resumeState != null) {
            Checkpoint c = cfg.resumeState != null ? cfg.resumeState : Checkpoint.read(cfg.resume);
            restore(c, opt);
            step = c.step;
            wallOffset = c.wallSeconds;
            accCount = c.lossCount;
            backend.upload(new float[] {(float) c.lossSum}, acc);
            resumed = true;
            progress.message("resumed from " + resumeSource() + " at step " + step
                    + (c.parametersOnly() ? " (parameters only: the optimizer state starts afresh)" : ""));
        }
        long total = totalSteps();
        int bpe = stepsPerEpoch();
        LearningRateAdjustable scheduled = null;
        float baseLr = 0f;
        if (!cfg.lrSchedule.isConstant()) {
            if (!(opt instanceof LearningRateAdjustable))
                throw new IllegalArgumentException("the learning-rate schedule " + cfg.lrSchedule + " needs an optimizer whose learning rate can change; "
                        + opt.name() + " cannot");
            scheduled = (LearningRateAdjustable) opt;
            baseLr = scheduled.learningRate();
        }
        double lastTrain = Double.NaN, lastTest = Double.NaN;
        double firstLoss = Double.NaN; // the session's first step's loss: the divergence check's reference
        boolean mse = reportsSquaredError();
        lastTrainMse = Double.NaN;
        lastTrainSet = Double.NaN;
        lastTestMse = Double.NaN;
        long sessionStart = step;
        evalNanos = 0;
        long t0 = System.nanoTime();
        MetricsWriter metrics = null;
        running = true;
        try {
            if (cfg.metrics != null)
                metrics = resumed ? MetricsWriter.resume(cfg.metrics, step, mse, cfg.evalTrainSet)
                        : MetricsWriter.create(cfg.metrics, mse, cfg.evalTrainSet);
            evalOffset = metrics != null ? metrics.keptEvalSeconds() : 0;
            progress.started(step, total, bpe);
            if (!resumed && cfg.evalAtStart && test != null) {
                try {
                    lastTest = evaluate(test);
                    evaluateSquaredErrors(mse);
                    evaluateTrainSet();
                } catch (EvaluationAborted e) {
                    progress.finished(step);
                    String msg = "interrupted during the test evaluation before the first step; nothing to save"
                            + (cfg.metrics != null ? " (metrics " + cfg.metrics + " has no rows)" : "");
                    return new TrainResult(step, 0, (System.nanoTime() - t0) / 1e9, Double.NaN, Double.NaN, false, msg,
                            evalNanos / 1e9, true);
                }
                if (metrics != null) metrics.row(0, 0, wall(wallOffset, t0), null, lastTest, mseCell(mse, lastTrainMse), mseCell(mse, lastTestMse),
                        trainSetCell(lastTrainSet), evalSecondsCell());
                progress.evaluated(0, lastTest);
            }
            long lastLogStep = step;
            boolean evalAbandoned = false;
            if (cfg.checkpointDir != null) takeSnapshot(step, wall(wallOffset, t0));
            while (step < total) {
                IndexStream.Batch b = batches.takeBatch(cfg.batchSize);
                if (!fullBatch) {
                    backend.gatherRows(train.x(), b.permutation, b.start, xb);
                    if (yb != xb) backend.gatherRows(train.y(), b.permutation, b.start, yb);
                }
                if (scheduled != null) scheduled.setLearningRate((float) (baseLr * scheduleFactor(step, total)));
                try {
                    graphs.step(opt, model, xb, yb, loss, accumulate);
                } catch (CurvatureException e) {
                    // the optimizer's curvature broke down before it moved the parameters: a divergence, not a bug
                    return diverged("the optimizer's curvature broke down", " (" + oneLine(e.getMessage()) + ")", step + 1, step,
                            Double.NaN, sessionStart, t0, lastTest);
                }
                accCount++;
                step++;
                if (step == sessionStart + 1 && cfg.divergenceFactor > 0) firstLoss = backend.readScalar(loss); // one read
                progress.stepped(step);
                boolean stop = stopRequested && step < total;
                boolean last = step == total;
                boolean evalNow = test != null && (last || (b.endsEpoch && cfg.evalEveryEpochs > 0
                        && batches.epoch() % cfg.evalEveryEpochs == 0));
                // A stop writes no extra metrics row when it checkpoints: the partial training loss travels in the
                // checkpoint, so a resumed run's CSV equals the uninterrupted run's. Without a checkpoint there is
                // nothing to resume and the stop step gets its row.
                boolean logNow = last || evalNow || b.endsEpoch || step % cfg.logEvery == 0 || (stop && cfg.checkpointDir == null);
                if (logNow) {
                    double mean = backend.readScalar(acc) / (double) accCount;
                    double wall = wall(wallOffset, t0);
                    if (!Double.isFinite(mean)) {
                        if (metrics != null) metrics.row(step, (double) step / bpe, wall, mean, null, null, null, null, evalSecondsCell());
                        return diverged(lossWord(mean), step, lastLogStep, mean, sessionStart, t0, lastTest);
                    }
                    if (cfg.divergenceFactor > 0 && mean > divergenceLimit(firstLoss)) {
                        if (metrics != null) metrics.row(step, (double) step / bpe, wall, mean, null, null, null, null, evalSecondsCell());
                        return diverged(String.format(Locale.ROOT, "loss rose to %.4g", mean),
                                String.format(Locale.ROOT, ", above the divergence limit %.4g = L1 + F x max(|L1|, 1) with the run's first "
                                        + "step's loss L1 = %.4g and the divergence factor F = %s (--divergence-factor; 0 turns this check off)",
                                        divergenceLimit(firstLoss), firstLoss, factorText()),
                                step, lastLogStep, mean, sessionStart, t0, lastTest);
                    }
                    if (cfg.checkpointDir != null && nonFiniteParams() > 0)
                        return diverged("parameters became non-finite", step, lastLogStep, Double.NaN, sessionStart, t0, lastTest);
                    Double testLoss = null;
                    if (evalNow) {
                        try {
                            if (stopRequested) throw new EvaluationAborted(); // requested during the step: do not start it
                            lastTest = evaluate(test);
                            testLoss = lastTest;
                            evaluateSquaredErrors(mse);
                            evaluateTrainSet();
                        } catch (EvaluationAborted e) {
                            evalNow = false;       // the row goes out without the test loss
                            testLoss = null;
                            evalAbandoned = true;
                            stop = true;
                        }
                    }
                    lastTrain = mean;
                    if (metrics != null) metrics.row(step, (double) step / bpe, wall(wallOffset, t0), mean, testLoss,
                            evalNow ? mseCell(mse, lastTrainMse) : null, evalNow ? mseCell(mse, lastTestMse) : null,
                            evalNow ? trainSetCell(lastTrainSet) : null, evalSecondsCell());
                    progress.logged(step, mean);
                    if (testLoss != null) progress.evaluated(step, testLoss);
                    backend.fill(acc, 0f);
                    accCount = 0;
                    lastLogStep = step;
                    if (cfg.checkpointDir != null) takeSnapshot(step, wall(wallOffset, t0));
                }
                if (cfg.checkpointDir != null && (last || stop || (cfg.checkpointEvery > 0 && step % cfg.checkpointEvery == 0))) {
                    double sum = logNow ? 0 : backend.readScalar(acc);
                    if (!Double.isFinite(sum))
                        return diverged(lossWord(sum), step, lastLogStep, sum, sessionStart, t0, lastTest);
                    if (nonFiniteParams() > 0)
                        return diverged("parameters became non-finite", step, lastLogStep, Double.NaN, sessionStart, t0, lastTest);
                    saveCheckpoint(opt, step, wall(wallOffset, t0), sum, accCount);
                }
                if (stop) {
                    backend.synchronize();
                    double secs = (System.nanoTime() - t0) / 1e9;
                    progress.finished(step);
                    String msg = "interrupted at step " + step + " of " + total
                            + (evalAbandoned ? " (its test evaluation was abandoned: that metrics row has no test loss)" : "")
                            + (cfg.checkpointDir != null ? "; checkpoint saved to " + lastCheckpointPath
                               + " (continue with --resume " + lastCheckpointPath + ")" : "; no --checkpoint-dir, nothing saved")
                            + (cfg.metrics != null ? "; metrics " + cfg.metrics : "");
                    return new TrainResult(step, step - sessionStart, secs, lastTrain, lastTest, false, msg, evalNanos / 1e9, true)
                            .withSquaredErrors(lastTrainMse, lastTestMse);
                }
            }
            if (resumed && step == sessionStart) progress.message("nothing to do: the checkpoint is at step " + step
                    + ", the run ends at step " + total);
            backend.synchronize();
            double secs = (System.nanoTime() - t0) / 1e9;
            progress.finished(step);
            return new TrainResult(step, step - sessionStart, secs, lastTrain, lastTest, false, null, evalNanos / 1e9)
                    .withSquaredErrors(lastTrainMse, lastTestMse);
        } finally {
            running = false;
            if (scheduled != null) scheduled.setLearningRate(baseLr); // the schedule belongs to this run only
            stateStep = step;
            stateAccCount = accCount;
            stateWall = wall(wallOffset, t0);
            if (metrics != null) metrics.close();
        }
    }

    /** The schedule's factor of step {@code step}: 1 before {@link TrainerConfig#lrScheduleFrom}, then over [from, total). */
    private double scheduleFactor(long step, long total) {
        long from = cfg.lrScheduleFrom;
        return step < from || from >= total ? 1.0 : cfg.lrSchedule.factor(step - from, total - from);
    }

    /** Step, loss count and wall time at the end of the last {@link #run}, for {@link #state}. */
    private long stateStep, stateAccCount;
    private double stateWall;

    private String resumeSource() { return cfg.resumeState != null ? "the given training state" : cfg.resume.toString(); }

    /**
     * The training state after the last {@link #run} (before any run: the start) as a checkpoint held in memory,
     * not written: parameters, {@code opt}'s state, step, batch and auxiliary stream positions, random state. Give
     * it to {@link TrainerConfig.Builder#resumeState} (or {@link Checkpoint#write} it) to continue exactly; not
     * meaningful after a diverged run.
     * @param opt the optimizer the run used
     * @return the checkpoint
     */
    public Checkpoint state(Optimizer opt) {
        double sum = stateAccCount == 0 ? 0 : backend.readScalar(acc);
        return checkpointOf(opt, stateStep, stateWall, sum, stateAccCount);
    }

    /** Squared errors of the last evaluation row (NaN when not reported or not yet evaluated). */
    private double lastTrainMse, lastTestMse;

    private void evaluateSquaredErrors(boolean mse) {
        if (!mse) return;
        lastTrainMse = meanSquaredError(train);
        lastTestMse = meanSquaredError(test);
    }

    private static Double mseCell(boolean mse, double v) { return mse ? v : null; }

    /** Mean NLL over the training set at the last evaluation (with {@link TrainerConfig#evalTrainSet}). */
    private double lastTrainSet = Double.NaN;
    /** eval_seconds of the rows a resumed metrics file kept. */
    private double evalOffset;

    private void evaluateTrainSet() {
        if (cfg.evalTrainSet) lastTrainSet = evaluate(train);
    }

    private Double trainSetCell(double v) { return cfg.evalTrainSet ? v : null; }

    private Double evalSecondsCell() { return cfg.evalTrainSet ? evalOffset + evalNanos / 1e9 : null; }

    private static double wall(double offset, long t0) { return offset + (System.nanoTime() - t0) / 1e9; }

    private long nonFiniteParams() {
        backend.countNonFinite(model.params(), check);
        return (long) backend.readScalar(check);
    }

    private void takeSnapshot(long step, double wall) {
        if (snapshot == null) snapshot = own(1, model.paramCount());
        backend.copy(model.params(), snapshot);
        snapStep = step;
        snapWall = wall;
        snapBatches = batches.state();
        snapAux = aux.stream().state();
        snapRngSeed = backend.seed();
        snapRngOffset = backend.rngOffset();
        haveSnapshot = true;
    }

    /** The loss above which a run counts as diverged, given its first step's loss (TrainerConfig.divergenceFactor). */
    private double divergenceLimit(double first) { return first + cfg.divergenceFactor * Math.max(Math.abs(first), 1.0); }

    private String factorText() {
        double f = cfg.divergenceFactor;
        return f == Math.rint(f) && f < 1e15 ? Long.toString((long) f) : Double.toString(f);
    }

    private static String lossWord(double v) { return Double.isNaN(v) ? "loss became NaN" : "loss became infinite"; }

    private TrainResult diverged(String what, long step, long lastLogStep, double value, long sessionStart, long t0, double lastTest) {
        return diverged(what, "", step, lastLogStep, value, sessionStart, t0, lastTest);
    }

    private static String oneLine(String s) { return s == null ? "" : s.replace('\r', ' ').replace('\n', ' ').trim(); }

    /** A stopped run: {@code what} happened at {@code step} (or since the last loss read), {@code detail} follows the step. */
    private TrainResult diverged(String what, String detail, long step, long lastLogStep, double value, long sessionStart, long t0,
                                 double lastTest) {
        StringBuilder m = new StringBuilder(what);
        if (lastLogStep >= step - 1)
            m.append(" at step ").append(step);
        else
            m.append(" between steps ").append(lastLogStep + 1).append(" and ").append(step)
                    .append(" (checked every ").append(cfg.logEvery).append(" steps; --log-every 1 pins it down)");
        m.append(detail);
        if (cfg.checkpointDir != null) {
            if (haveSnapshot && countNonFinite(snapshot) == 0) {
                Path p = cfg.checkpointDir.resolve(Checkpoint.LAST_FINITE);
                Checkpoint c = baseCheckpoint(snapStep, snapWall);
                c.batchStream = snapBatches;
                c.auxStream = snapAux;
                c.rngSeed = snapRngSeed;
                c.rngOffset = snapRngOffset;
                c.params = backend.download(snapshot);
                c.optimizerState = null;
                c.write(p);
                m.append("; parameters left at step ").append(snapStep).append(" were saved to ").append(p)
                        .append(" (parameters only, no NaN)");
            } else if (lastCheckpointPath != null) {
                m.append("; the last checkpoint (step ").append(lastCheckpointStep).append(", finite) is ").append(lastCheckpointPath);
            } else {
                m.append("; no checkpoint was written");
            }
        }
        String msg = m.toString();
        progress.message(msg);
        progress.finished(step);
        double secs = (System.nanoTime() - t0) / 1e9;
        return new TrainResult(step, step - sessionStart, secs, value, lastTest, true, msg, evalNanos / 1e9)
                .withSquaredErrors(lastTrainMse, lastTestMse);
    }

    private long countNonFinite(Tensor t) {
        backend.countNonFinite(t, check);
        return (long) backend.readScalar(check);
    }

    private Checkpoint baseCheckpoint(long step, double wall) {
        Checkpoint c = new Checkpoint();
        c.modelSpec = model.spec().toString();
        c.likelihood = model.likelihood().toString();
        c.optimizerName = "";
        c.dataName = train.name();
        c.batchSize = cfg.batchSize;
        c.sampling = cfg.sampling.cliName();
        c.step = step;
        c.wallSeconds = wall;
        return c;
    }

    private void saveCheckpoint(Optimizer opt, long step, double wall, double lossSum, long lossCount) {
        Checkpoint c = checkpointOf(opt, step, wall, lossSum, lossCount);
        Path p = cfg.checkpointDir.resolve(Checkpoint.LATEST);
        c.write(p);
        if (cfg.keepCheckpoints) c.write(cfg.checkpointDir.resolve(Checkpoint.stepFile(step)));
        lastCheckpointStep = step;
        lastCheckpointPath = p;
        progress.message(String.format(Locale.ROOT, "checkpoint: step %d saved to %s", step, p));
    }

    private Checkpoint checkpointOf(Optimizer opt, long step, double wall, double lossSum, long lossCount) {
        Checkpoint c = baseCheckpoint(step, wall);
        c.optimizerName = opt.name();
        c.lossSum = lossSum;
        c.lossCount = lossCount;
        c.batchStream = batches.state();
        c.auxStream = aux.stream().state();
        c.rngSeed = backend.seed();
        c.rngOffset = backend.rngOffset();
        c.params = backend.download(model.params());
        c.optimizerState = opt.state();
        return c;
    }

    private void restore(Checkpoint c, Optimizer opt) {
        String where = cfg.resumeState != null ? "the training state" : "checkpoint " + cfg.resume;
        if (!c.modelSpec.equals(model.spec().toString()))
            throw new CheckpointException(where + " is for model " + c.modelSpec + ", not " + model.spec());
        if (!c.likelihood.equals(model.likelihood().toString()))
            throw new CheckpointException(where + " is for likelihood " + c.likelihood + ", not " + model.likelihood());
        if (c.params.length != model.paramCount())
            throw new CheckpointException(where + " holds " + c.params.length + " parameters, the model has " + model.paramCount());
        if (!c.parametersOnly() && !c.optimizerName.equals(opt.name()))
            throw new CheckpointException(where + " was written by optimizer " + c.optimizerName + ", this run uses " + opt.name());
        if (c.batchSize != cfg.batchSize)
            throw new CheckpointException(where + " was written with batch size " + c.batchSize + ", this run uses " + cfg.batchSize);
        if (!c.dataName.equals(train.name()))
            throw new CheckpointException(where + " was trained on " + c.dataName + ", this run uses " + train.name());
        if (!c.sampling.equals(cfg.sampling.cliName()))
            throw new CheckpointException(where + " was written with " + c.sampling + " sampling, this run uses " + cfg.sampling
                    + " (--sampling " + c.sampling + " continues it)");
        if (c.batchStream[3] != train.n() || c.auxStream[3] != train.n())
            throw new CheckpointException(where + ": its batch streams are over " + c.batchStream[3] + " examples, "
                    + train.name() + " has " + train.n() + " (a different data set?)");
        // everything is checked (Checkpoint.read and above); the optimizer checks its own state before loading it
        if (c.optimizerState != null) {
            OptimizerState s = c.optimizerState;
            try {
                opt.loadState(s);
            } catch (IllegalArgumentException e) {
                throw new CheckpointException(where + ": " + e.getMessage(), e);
            }
        }
        batches.restore(c.batchStream);
        aux.stream().restore(c.auxStream);
        backend.upload(c.params, model.params());
        backend.setRngState(c.rngSeed, c.rngOffset);
    }

    @Override
    public void close() {
        graphs.close();
        for (Tensor t : owned) t.close();
        owned.clear();
    }
}
