package org.fishleg.train;

/** Outcome of {@link Trainer#run}. */
public final class TrainResult {
    /** Steps completed in total (including those before a resume). */
    public final long steps;
    /** Steps run in this session. */
    public final long sessionSteps;
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

    TrainResult(long steps, long sessionSteps, double sessionSeconds, double lastTrainLoss, double lastTestLoss,
                boolean diverged, String message, double evalSeconds) {
        this(steps, sessionSteps, sessionSeconds, lastTrainLoss, lastTestLoss, diverged, message, evalSeconds, false);
    }

    TrainResult(long steps, long sessionSteps, double sessionSeconds, double lastTrainLoss, double lastTestLoss,
                boolean diverged, String message, double evalSeconds, boolean interrupted) {
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

    /** Milliseconds per training step, evaluation time excluded. */
    public double msPerStep() {
        return sessionSteps > 0 ? 1000 * (sessionSeconds - evalSeconds) / sessionSteps : Double.NaN;
    }

    /** Training steps per second, evaluation time excluded. */
    public double stepsPerSecond() {
        double t = sessionSeconds - evalSeconds;
        return t > 0 ? sessionSteps / t : Double.NaN;
    }
}
