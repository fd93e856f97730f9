package org.fishleg.train;

import java.nio.file.Path;

/**
 * Immutable settings of a {@link Trainer}. Either a number of epochs or a number of steps (total,
 * including steps done before a resume) bounds the run.
 */
public final class TrainerConfig {
    /** Training batch size. */
    public final int batchSize;
    /** Total epochs (when {@link #steps} is 0). */
    public final int epochs;
    /** Total steps; 0 = use {@link #epochs}. */
    public final long steps;
    /** Write a metrics row every this many steps. */
    public final int logEvery;
    /** Evaluate the test loss every this many epochs (0 = only at the start and the end). */
    public final int evalEveryEpochs;
    /** Evaluate the test set before the first step. */
    public final boolean evalAtStart;
    /** Batch size of test-set evaluation (does not change the result). */
    public final int evalBatchSize;
    /** Seed of the batch order and of FishLeg's auxiliary batches. */
    public final long seed;
    /** Metrics CSV to write, or null for none. */
    public final Path metrics;
    /** Folder for checkpoints, or null for none. */
    public final Path checkpointDir;
    /** Checkpoint every this many steps (0 = only at the end). */
    public final long checkpointEvery;
    /** Checkpoint to continue from, or null to start afresh. */
    public final Path resume;
    /**
     * Training state to continue from, already in memory (e.g. {@link Trainer#state} of an earlier run, or a
     * {@link Checkpoint#read} result), or null; takes precedence over {@link #resume}.
     */
    public final Checkpoint resumeState;
    /** Also keep every checkpoint as step-N.ckpt beside the latest one. */
    public final boolean keepCheckpoints;
    /** Replay captured graphs of repeating steps where the backend supports them (CUDA); see {@link StepGraphs}. */
    public final boolean graphs;
    /**
     * How training and auxiliary batches are drawn ({@link Sampling}); FULL needs {@link #batchSize} equal to the
     * training set size.
     */
    public final Sampling sampling;
    /**
     * Also evaluate the mean NLL over the whole training set at every test evaluation: the metrics get the columns
     * train_set_loss and eval_seconds ({@link MetricsWriter}). Off by default (it costs a forward pass over the
     * training set).
     */
    public final boolean evalTrainSet;
    /**
     * The learning-rate schedule over the run's total steps ({@link LrSchedule#CONSTANT} by default); anything
     * else needs an optimizer that is {@link org.fishleg.optim.LearningRateAdjustable}.
     */
    public final LrSchedule lrSchedule;
    /**
     * The step at which {@link #lrSchedule} begins: it runs over the steps [lrScheduleFrom, total) (default 0, the
     * whole run; a resumed CLI run keeps 0 so that it continues the schedule; {@code Model.fit} gives each fit its own).
     */
    public final long lrScheduleFrom;
    /**
     * Stop the run as diverged when a logged training loss exceeds {@code ref + divergenceFactor * max(|ref|, 1)},
     * where ref is the loss of the run's first step (of this session's first, when resumed). The trainer stops on a
     * non-finite loss regardless; this also catches a blow-up that stays finite (1e9 and rising), which would
     * otherwise run to the end. Default {@link #DEFAULT_DIVERGENCE_FACTOR}; 0 turns the check off.
     */
    public final double divergenceFactor;
    /** Default of {@link #divergenceFactor}: 100 (a run whose loss has grown a hundredfold above its start is not coming back). */
    public static final double DEFAULT_DIVERGENCE_FACTOR = 100;

    private TrainerConfig(Builder b) {
        batchSize = b.batchSize; epochs = b.epochs; steps = b.steps; logEvery = b.logEvery;
        evalEveryEpochs = b.evalEveryEpochs; evalAtStart = b.evalAtStart; evalBatchSize = b.evalBatchSize;
        seed = b.seed; metrics = b.metrics; checkpointDir = b.checkpointDir; checkpointEvery = b.checkpointEvery;
        resume = b.resume;
        resumeState = b.resumeState;
        keepCheckpoints = b.keepCheckpoints;
        graphs = b.graphs;
        sampling = b.sampling;
        evalTrainSet = b.evalTrainSet;
        lrSchedule = b.lrSchedule;
        lrScheduleFrom = b.lrScheduleFrom;
        divergenceFactor = b.divergenceFactor;
        if (!(divergenceFactor >= 0) || !Double.isFinite(divergenceFactor))
            throw new IllegalArgumentException("divergence factor must be a finite number >= 0 (0: off), got " + divergenceFactor);
        if (lrScheduleFrom < 0) throw new IllegalArgumentException("the learning-rate schedule's first step must be >= 0, got " + lrScheduleFrom);
        if (lrSchedule == null) throw new IllegalArgumentException("learning-rate schedule must be set");
        if (sampling == null) throw new IllegalArgumentException("sampling must be set");
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (steps < 0) throw new IllegalArgumentException("steps must be >= 0, got " + steps);
        if (steps == 0 && epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        if (logEvery < 1) throw new IllegalArgumentException("log every must be >= 1 step, got " + logEvery);
        if (evalEveryEpochs < 0) throw new IllegalArgumentException("eval every must be >= 0 epochs, got " + evalEveryEpochs);
        if (evalBatchSize < 1) throw new IllegalArgumentException("evaluation batch size must be >= 1, got " + evalBatchSize);
        if (checkpointEvery < 0) throw new IllegalArgumentException("checkpoint every must be >= 0 steps, got " + checkpointEvery);
    }

    /**
     * A builder with the defaults: batch 100, 1 epoch, log every 10 steps, evaluate every epoch, seed 1, shuffle.
     * @return the builder
     */
    public static Builder builder() { return new Builder(); }

    /**
     * A builder holding these settings.
     * @return the builder
     */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.batchSize = batchSize; b.epochs = epochs; b.steps = steps; b.logEvery = logEvery;
        b.evalEveryEpochs = evalEveryEpochs; b.evalAtStart = evalAtStart; b.evalBatchSize = evalBatchSize;
        b.seed = seed; b.metrics = metrics; b.checkpointDir = checkpointDir; b.checkpointEvery = checkpointEvery;
        b.resume = resume;
        b.resumeState = resumeState;
        b.keepCheckpoints = keepCheckpoints;
        b.graphs = graphs;
        b.sampling = sampling;
        b.evalTrainSet = evalTrainSet;
        b.lrSchedule = lrSchedule;
        b.lrScheduleFrom = lrScheduleFrom;
        b.divergenceFactor = divergenceFactor;
        return b;
    }

    /** Builds a {@link TrainerConfig}; each setter sets the field of the same name. */
    public static final class Builder {
        private int batchSize = 100, epochs = 1, logEvery = 10, evalEveryEpochs = 1, evalBatchSize = 1000;
        private long steps = 0, seed = 1, checkpointEvery = 0, lrScheduleFrom = 0;
        private boolean evalAtStart = true, keepCheckpoints = false, graphs = true, evalTrainSet = false;
        private Path metrics, checkpointDir, resume;
        private Checkpoint resumeState;
        private Sampling sampling = Sampling.SHUFFLE;
        private LrSchedule lrSchedule = LrSchedule.CONSTANT;
        private double divergenceFactor = DEFAULT_DIVERGENCE_FACTOR;

        /**
         * Sets {@link TrainerConfig#divergenceFactor}.
         * @param v the factor, or 0 for no check beyond non-finite losses
         * @return this builder
         */
        public Builder divergenceFactor(double v) { divergenceFactor = v; return this; }

        /**
         * Sets {@link TrainerConfig#batchSize}.
         * @param v examples per batch
         * @return this builder
         */
        public Builder batchSize(int v) { batchSize = v; return this; }
        /**
         * Sets {@link TrainerConfig#epochs}.
         * @param v the number of epochs
         * @return this builder
         */
        public Builder epochs(int v) { epochs = v; return this; }
        /**
         * Sets {@link TrainerConfig#steps}.
         * @param v the total number of steps, 0 to count epochs
         * @return this builder
         */
        public Builder steps(long v) { steps = v; return this; }
        /**
         * Sets {@link TrainerConfig#logEvery}.
         * @param v steps between metrics rows
         * @return this builder
         */
        public Builder logEvery(int v) { logEvery = v; return this; }
        /**
         * Sets {@link TrainerConfig#evalEveryEpochs}.
         * @param v epochs between test evaluations
         * @return this builder
         */
        public Builder evalEveryEpochs(int v) { evalEveryEpochs = v; return this; }
        /**
         * Sets {@link TrainerConfig#evalAtStart}.
         * @param v whether to evaluate before the first step
         * @return this builder
         */
        public Builder evalAtStart(boolean v) { evalAtStart = v; return this; }
        /**
         * Sets {@link TrainerConfig#evalBatchSize}.
         * @param v examples per evaluation batch
         * @return this builder
         */
        public Builder evalBatchSize(int v) { evalBatchSize = v; return this; }
        /**
         * Sets {@link TrainerConfig#seed}.
         * @param v the seed
         * @return this builder
         */
        public Builder seed(long v) { seed = v; return this; }
        /**
         * Sets {@link TrainerConfig#metrics}.
         * @param v the metrics CSV file, or null
         * @return this builder
         */
        public Builder metrics(Path v) { metrics = v; return this; }
        /**
         * Sets {@link TrainerConfig#checkpointDir}.
         * @param v the checkpoint folder, or null
         * @return this builder
         */
        public Builder checkpointDir(Path v) { checkpointDir = v; return this; }
        /**
         * Sets {@link TrainerConfig#checkpointEvery}.
         * @param v steps between checkpoints, 0 for only at the end
         * @return this builder
         */
        public Builder checkpointEvery(long v) { checkpointEvery = v; return this; }
        /**
         * Sets {@link TrainerConfig#resume}.
         * @param v a checkpoint file to resume from, or null
         * @return this builder
         */
        public Builder resume(Path v) { resume = v; return this; }
        /**
         * Sets {@link TrainerConfig#resumeState}.
         * @param v a checkpoint held in memory to resume from, or null
         * @return this builder
         */
        public Builder resumeState(Checkpoint v) { resumeState = v; return this; }
        /**
         * Sets {@link TrainerConfig#keepCheckpoints}.
         * @param v whether to keep every checkpoint
         * @return this builder
         */
        public Builder keepCheckpoints(boolean v) { keepCheckpoints = v; return this; }
        /**
         * Sets {@link TrainerConfig#graphs}.
         * @param v whether to replay steps as graphs
         * @return this builder
         */
        public Builder graphs(boolean v) { graphs = v; return this; }
        /**
         * Sets {@link TrainerConfig#sampling}.
         * @param v how batches are drawn
         * @return this builder
         */
        public Builder sampling(Sampling v) { sampling = v; return this; }
        /**
         * Sets {@link TrainerConfig#evalTrainSet}.
         * @param v whether to evaluate the whole training set too
         * @return this builder
         */
        public Builder evalTrainSet(boolean v) { evalTrainSet = v; return this; }
        /**
         * Sets {@link TrainerConfig#lrSchedule}.
         * @param v the learning-rate schedule
         * @return this builder
         */
        public Builder lrSchedule(LrSchedule v) { lrSchedule = v; return this; }
        /**
         * Sets {@link TrainerConfig#lrScheduleFrom}.
         * @param v the step at which the schedule begins
         * @return this builder
         */
        public Builder lrScheduleFrom(long v) { lrScheduleFrom = v; return this; }
        /**
         * The configuration; throws IllegalArgumentException on an invalid value.
         * @return the configuration
         */
        public TrainerConfig build() { return new TrainerConfig(this); }
    }
}
