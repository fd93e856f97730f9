package org.fishleg.train;

/**
 * Receives a training run's progress (for progress bars and log lines). All methods are called on the
 * training thread; implementations must be cheap in {@link #stepped} (called every step).
 */
public interface TrainingProgress {
    /**
     * Before the first step: steps already done (resume), total steps, batches per epoch.
     * @param step steps already done
     * @param totalSteps the step the run ends at
     * @param stepsPerEpoch batches per epoch
     */
    default void started(long step, long totalSteps, int stepsPerEpoch) {}

    /**
     * After every optimizer step.
     * @param step the steps done
     */
    default void stepped(long step) {}

    /**
     * A metrics row with a training loss (mean since the previous row).
     * @param step the steps done
     * @param trainLoss the mean training loss since the previous row
     */
    default void logged(long step, double trainLoss) {}

    /**
     * A test-set evaluation.
     * @param step the steps done
     * @param testLoss the test loss
     */
    default void evaluated(long step, double testLoss) {}

    /**
     * A line of information (checkpoint written, resume, divergence).
     * @param line the line
     */
    default void message(String line) {}

    /**
     * After the run (also after divergence).
     * @param step the steps done
     */
    default void finished(long step) {}

    /** Ignores everything. */
    TrainingProgress NONE = new TrainingProgress() {};
}
