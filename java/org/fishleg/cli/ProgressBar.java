package org.fishleg.cli;

import java.io.PrintStream;
import java.util.Locale;
import org.fishleg.train.TrainingProgress;

/**
 * A one-line progress bar redrawn in place with '\r' on a terminal, at most five times a second:
 * <pre>epoch 3/10 [=====>              ] step 1234/6000 loss 81.23 12.3 steps/s ETA 1:02</pre>
 * Messages (checkpoints, divergence) are printed on their own line above it.
 */
final class ProgressBar implements TrainingProgress {
    private static final long REDRAW_NANOS = 200_000_000L;
    private static final int BAR = 24;

    private final PrintStream err;
    private long total, lastDraw;
    /** Rate reference: the first step seen (its time), so start-up evaluation does not count. */
    private long refStep = -1, refTime;
    private int perEpoch;
    private long step;
    private double loss = Double.NaN, testLoss = Double.NaN;
    private int lastLen;
    private boolean drawn;

    ProgressBar(PrintStream err) { this.err = err; }

    @Override
    public void started(long step, long totalSteps, int stepsPerEpoch) {
        this.step = step;
        this.total = totalSteps;
        this.perEpoch = Math.max(1, stepsPerEpoch);
        draw();
    }

    @Override
    public void stepped(long s) {
        step = s;
        long now = System.nanoTime();
        if (refStep < 0) { refStep = s; refTime = now; }
        if (now - lastDraw >= REDRAW_NANOS) draw();
    }

    @Override public void logged(long s, double trainLoss) { loss = trainLoss; }

    @Override public void evaluated(long s, double test) { testLoss = test; }

    @Override
    public void message(String line) {
        clear();
        err.println(line);
        if (total > 0) draw();
    }

    @Override
    public void finished(long s) {
        step = s;
        draw();
        err.println();
        err.flush();
        drawn = false;
        lastLen = 0;
    }

    private void clear() {
        if (!drawn) return;
        err.print("\r" + " ".repeat(lastLen) + "\r");
        drawn = false;
        lastLen = 0;
    }

    private void draw() {
        lastDraw = System.nanoTime();
        String line = refStep < 0 ? render(step, step, total, perEpoch, loss, testLoss, 0)
                : render(step, refStep, total, perEpoch, loss, testLoss, (lastDraw - refTime) / 1e9);
        int pad = Math.max(0, lastLen - line.length());
        err.print("\r" + line + " ".repeat(pad));
        err.flush();
        lastLen = line.length();
        drawn = true;
    }

    /** The bar; the rate is (step - startStep) / seconds. */
    static String render(long step, long startStep, long total, int perEpoch, double loss, double test, double seconds) {
        long epochs = (total + perEpoch - 1) / perEpoch;
        long epoch = Math.min(epochs, step / perEpoch + 1);
        double frac = total > 0 ? Math.min(1, (double) step / total) : 1;
        int fill = (int) Math.round(frac * BAR);
        StringBuilder bar = new StringBuilder("[");
        for (int i = 0; i < BAR; i++) bar.append(i < fill - 1 ? '=' : i == fill - 1 ? (fill == BAR ? '=' : '>') : ' ');
        bar.append(']');
        double rate = seconds > 0 && step > startStep ? (step - startStep) / seconds : 0;
        StringBuilder b = new StringBuilder();
        b.append("epoch ").append(epoch).append('/').append(epochs).append(' ').append(bar)
                .append(" step ").append(step).append('/').append(total);
        if (!Double.isNaN(loss)) b.append(String.format(Locale.ROOT, " loss %.2f", loss));
        if (!Double.isNaN(test)) b.append(String.format(Locale.ROOT, " test %.2f", test));
        if (rate > 0) {
            b.append(String.format(Locale.ROOT, " %.1f steps/s", rate));
            if (step < total) b.append(" ETA ").append(clock((total - step) / rate));
        }
        return b.toString();
    }

    /** m:ss or h:mm:ss. */
    static String clock(double seconds) {
        long s = Math.round(seconds);
        if (s >= 3600) return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
        return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
