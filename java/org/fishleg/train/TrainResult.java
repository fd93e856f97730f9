package org.fishleg.train;

/** Outcome of {@link Trainer#run}. */
public final class TrainResult {
    /** Steps completed in total (including those before a resume). */
    public final long steps;
    /** Steps run in this session. */
    public final long sessionSteps;
    /** Wall-clock seconds of this session. */
    public final double sessionSeconds;
    /** Last logged training loss (mean of the last row), NaN if none. */
    public final double lastTrainLoss;
    /** Last test loss, NaN if never evaluated. */
    public final double lastTestLoss;
    /** True when a non-finite loss stopped the run. */
    public final boolean diverged;
    /** One-line explanation when diverged or interrupted, else null. */
    public final String message;
    /** True when {@link Trainer#requestStop} ended the run early (checkpointed like a normal end). */
    public final boolean interrupted;
    /** Seconds of this session spent on test-set evaluations (part of {@link #sessionSeconds}). */
    public final double evalSeconds;
    /**
     * Mean squared errors ||f(x) - y||^2 over the training and test set at the last evaluation (Gaussian
     * likelihoods; NaN otherwise or when never evaluated).
     */
    public final double lastTrainMse, lastTestMse;

    TrainResult(long steps, long sessionSteps, double sessionSeconds, double lastTrainLoss, double lastTestLoss,
                boolean diverged, String message, double evalSeconds) {
        this(steps, sessionSteps, sessionSeconds, lastTrainLoss, lastTestLoss, diverged, message, evalSeconds, false);
    }

    TrainResult(long steps, long sessionSteps, double sessionSeconds, double lastTrainLoss, double lastTestLoss,
                boolean diverged, String message, double evalSeconds, boolean interrupted) {
        this(steps, sessionSteps, sessionSeconds, lastTrainLoss, lastTestLoss, diverged, message, evalSeconds, interrupted,
                Double.NaN, Double.NaN);
    }

    private TrainResult(long steps, long sessionSteps, double sessionSeconds, double lastTrainLoss, double lastTestLoss,
                boolean diverged, String message, double evalSeconds, boolean interrupted, double lastTrainMse, double lastTestMse) {
        this.lastTrainMse = lastTrainMse;
        this.lastTestMse = lastTestMse;
        this.interrupted = interrupted;
        this.steps = steps;
        this.sessionSteps = sessionSteps;
        this.sessionSeconds = sessionSeconds;
        this.lastTrainLoss = lastTrainLoss;
        this.lastTestLoss = lastTestLoss;
        this.diverged = diverged;
        this.message = message;
        this.evalSeconds = evalSeconds;
    }

    /** This result with the squared errors of the last evaluation. */
    TrainResult withSquaredErrors(double trainMse, double testMse) {
        return new TrainResult(steps, sessionSteps, sessionSeconds, lastTrainLoss, lastTestLoss, diverged, message, evalSeconds,
                interrupted, trainMse, testMse);
    }

    /**
     * Milliseconds per training step, evaluation time excluded.
     * @return milliseconds per step, NaN when no step ran
     */
    public double msPerStep() {
        return sessionSteps > 0 ? 1000 * (sessionSeconds - evalSeconds) / sessionSteps : Double.NaN;
    }

    /**
     * Training steps per second, evaluation time excluded.
     * @return steps per second, NaN when no step ran
     */
    public double stepsPerSecond() {
        double t = sessionSeconds - evalSeconds;
        return t > 0 ? sessionSteps / t : Double.NaN;
    }
}
