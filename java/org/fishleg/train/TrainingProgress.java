package org.fishleg.train;

/**
 * Receives a training run's progress (for progress bars and log lines). All methods are called on the
 * training thread; implementations must be cheap in {@link #stepped} (called every step).
 */
public interface TrainingProgress {
    /** Before the first step: steps already done (resume), total steps, batches per epoch. */
    default void started(long step, long totalSteps, int stepsPerEpoch) {}

    /** After every optimizer step. */
    default void stepped(long step) {}

    /** A metrics row with a training loss (mean since the previous row). */
    default void logged(long step, double trainLoss) {}

    /** A test-set evaluation. */
    default void evaluated(long step, double testLoss) {}

    /** A line of information (checkpoint written, resume, divergence). */
    default void message(String line) {}

    /** After the run (also after divergence). */
    default void finished(long step) {}

    /** Ignores everything. */
    TrainingProgress NONE = new TrainingProgress() {};
}
