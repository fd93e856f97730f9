package org.fishleg.cli;

import java.io.PrintStream;
import java.util.Locale;
import org.fishleg.train.TrainingProgress;

/**
 * Progress for logs and pipes (no terminal): one plain line every {@code every} steps (at the first metrics
 * row at or after each multiple), at every test evaluation and at the end.
 */
final class ProgressLines implements TrainingProgress {
    private final PrintStream err;
    private final long every;
    private long total, nextPrint;
    private int perEpoch;
    private long refStep = -1, refTime;
    private double loss = Double.NaN;

    ProgressLines(PrintStream err, long every) {
        this.err = err;
        this.every = Math.max(1, every);
    }

    @Override
    public void started(long step, long totalSteps, int stepsPerEpoch) {
        total = totalSteps;
        perEpoch = Math.max(1, stepsPerEpoch);
        nextPrint = (step / every + 1) * every;
    }

    @Override
    public void stepped(long step) {
        if (refStep < 0) { refStep = step; refTime = System.nanoTime(); }
    }

    @Override
    public void logged(long step, double trainLoss) {
        loss = trainLoss;
        if (step >= nextPrint && step < total) {
            print(step, null);
            nextPrint = (step / every + 1) * every;
        }
    }

    @Override
    public void evaluated(long step, double testLoss) { print(step, testLoss); }

    @Override
    public void message(String line) { err.println(line); err.flush(); }

    private void print(long step, Double test) {
        double secs = (System.nanoTime() - refTime) / 1e9;
        double rate = refStep >= 0 && step > refStep && secs > 0 ? (step - refStep) / secs : 0;
        long epochs = (total + perEpoch - 1) / perEpoch;
        StringBuilder b = new StringBuilder();
        b.append("step ").append(step).append('/').append(total)
                .append(String.format(Locale.ROOT, " epoch %.2f/%d", (double) step / perEpoch, epochs));
        if (!Double.isNaN(loss)) b.append(String.format(Locale.ROOT, " train_loss %.3f", loss));
        if (test != null) b.append(String.format(Locale.ROOT, " test_loss %.3f", test));
        if (rate > 0) {
            b.append(String.format(Locale.ROOT, " %.1f steps/s", rate));
            if (step < total) b.append(" ETA ").append(ProgressBar.clock((total - step) / rate));
        }
        err.println(b);
        err.flush();
    }
}
