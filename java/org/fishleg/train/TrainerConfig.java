package org.fishleg.train;

import java.nio.file.Path;

/**
 * Immutable settings of a {@link Trainer}. Either a number of epochs or a number of steps (total,
 * including steps done before a resume) bounds the run.
 */
public final class TrainerConfig {
    public final int batchSize;
    /** Total epochs (when {@link #steps} is 0). */
    public final int epochs;
    /** Total steps; 0 = use {@link #epochs}. */
    public final long steps;
    public final int logEvery;
    /** Evaluate the test loss every this many epochs (0 = only at the start and the end). */
    public final int evalEveryEpochs;
    public final boolean evalAtStart;
    public final int evalBatchSize;
    public final long seed;
    public final Path metrics;
    public final Path checkpointDir;
    /** Checkpoint every this many steps (0 = only at the end). */
    public final long checkpointEvery;
    public final Path resume;
    /** Also keep every checkpoint as step-N.ckpt beside the latest one. */
    public final boolean keepCheckpoints;
    /** Replay captured graphs of repeating steps where the backend supports them (CUDA); see {@link StepGraphs}. */
    public final boolean graphs;
    /**
     * How training and auxiliary batches are drawn ({@link Sampling}); FULL needs {@link #batchSize} equal to the
     * training set size.
     */
    public final Sampling sampling;

    private TrainerConfig(Builder b) {
        batchSize = b.batchSize; epochs = b.epochs; steps = b.steps; logEvery = b.logEvery;
        evalEveryEpochs = b.evalEveryEpochs; evalAtStart = b.evalAtStart; evalBatchSize = b.evalBatchSize;
        seed = b.seed; metrics = b.metrics; checkpointDir = b.checkpointDir; checkpointEvery = b.checkpointEvery;
        resume = b.resume;
        keepCheckpoints = b.keepCheckpoints;
        graphs = b.graphs;
        sampling = b.sampling;
        if (sampling == null) throw new IllegalArgumentException("sampling must be set");
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (steps < 0) throw new IllegalArgumentException("steps must be >= 0, got " + steps);
        if (steps == 0 && epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        if (logEvery < 1) throw new IllegalArgumentException("log every must be >= 1 step, got " + logEvery);
        if (evalEveryEpochs < 0) throw new IllegalArgumentException("eval every must be >= 0 epochs, got " + evalEveryEpochs);
        if (evalBatchSize < 1) throw new IllegalArgumentException("evaluation batch size must be >= 1, got " + evalBatchSize);
        if (checkpointEvery < 0) throw new IllegalArgumentException("checkpoint every must be >= 0 steps, got " + checkpointEvery);
    }

    public static Builder builder() { return new Builder(); }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.batchSize = batchSize; b.epochs = epochs; b.steps = steps; b.logEvery = logEvery;
        b.evalEveryEpochs = evalEveryEpochs; b.evalAtStart = evalAtStart; b.evalBatchSize = evalBatchSize;
        b.seed = seed; b.metrics = metrics; b.checkpointDir = checkpointDir; b.checkpointEvery = checkpointEvery;
        b.resume = resume;
        b.keepCheckpoints = keepCheckpoints;
        b.graphs = graphs;
        b.sampling = sampling;
        return b;
    }

    public static final class Builder {
        private int batchSize = 100, epochs = 1, logEvery = 10, evalEveryEpochs = 1, evalBatchSize = 1000;
        private long steps = 0, seed = 1, checkpointEvery = 0;
        private boolean evalAtStart = true, keepCheckpoints = false, graphs = true;
        private Path metrics, checkpointDir, resume;
        private Sampling sampling = Sampling.SHUFFLE;

        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder epochs(int v) { epochs = v; return this; }
        public Builder steps(long v) { steps = v; return this; }
        public Builder logEvery(int v) { logEvery = v; return this; }
        public Builder evalEveryEpochs(int v) { evalEveryEpochs = v; return this; }
        public Builder evalAtStart(boolean v) { evalAtStart = v; return this; }
        public Builder evalBatchSize(int v) { evalBatchSize = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder metrics(Path v) { metrics = v; return this; }
        public Builder checkpointDir(Path v) { checkpointDir = v; return this; }
        public Builder checkpointEvery(long v) { checkpointEvery = v; return this; }
        public Builder resume(Path v) { resume = v; return this; }
        public Builder keepCheckpoints(boolean v) { keepCheckpoints = v; return this; }
        public Builder graphs(boolean v) { graphs = v; return this; }
        public Builder sampling(Sampling v) { sampling = v; return this; }
        public TrainerConfig build() { return new TrainerConfig(this); }
    }
}
