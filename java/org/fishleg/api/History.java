package org.fishleg.api;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What {@link Model#fit} did: one {@link Epoch} per completed (or, when stopped early, partial) epoch. */
public final class History {

    /** The metrics of one epoch. */
    public static final class Epoch {
        /** Epoch number, 1-based, counted from the first training of the model (a continued fit goes on counting). */
        public final int epoch;
        /** Optimizer steps completed in total at the end of this epoch. */
        public final long step;
        /** Mean of the training batch losses of this epoch (over the steps since the previous entry). */
        public final double trainLoss;
        /** Each evaluator's value on the test set at the end of the epoch, by {@link Evaluator#name()} (empty without a test set). */
        public final Map<String, Double> test;

        Epoch(int epoch, long step, double trainLoss, Map<String, Double> test) {
            this.epoch = epoch;
            this.step = step;
            this.trainLoss = trainLoss;
            this.test = Collections.unmodifiableMap(new LinkedHashMap<>(test));
        }

        /**
         * The test value of the evaluator named {@code name}; IllegalArgumentException if it was not evaluated.
         * @param name an evaluator's name
         * @return its value on the test set after this epoch
         */
        public double test(String name) {
            Double v = test.get(name);
            if (v == null) throw new IllegalArgumentException("no test metric '" + name + "' (evaluated: " + test.keySet() + ")");
            return v;
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder(String.format(java.util.Locale.ROOT, "epoch %d (step %d): train_loss %.4f", epoch, step, trainLoss));
            for (Map.Entry<String, Double> e : test.entrySet())
                b.append(String.format(java.util.Locale.ROOT, ", test_%s %.4f", e.getKey(), e.getValue()));
            return b.toString();
        }
    }

    private final List<Epoch> epochs = new ArrayList<>();
    private final long startStep;
    private long steps;
    private boolean diverged;
    private String message;

    History(long startStep) {
        this.startStep = startStep;
        this.steps = startStep;
    }

    void add(Epoch e) { epochs.add(e); }

    void finish(long steps, boolean diverged, String message) {
        this.steps = steps;
        this.diverged = diverged;
        this.message = message;
    }

    /**
     * The epochs of this fit, in order (unmodifiable).
     * @return the epochs
     */
    public List<Epoch> epochs() { return Collections.unmodifiableList(epochs); }

    /**
     * The last epoch; IllegalStateException when none completed.
     * @return the last epoch
     */
    public Epoch last() {
        if (epochs.isEmpty()) throw new IllegalStateException("no epoch completed" + (message != null ? ": " + message : ""));
        return epochs.get(epochs.size() - 1);
    }

    /**
     * The training loss of every epoch.
     * @return one training loss per epoch
     */
    public double[] trainLoss() { return epochs.stream().mapToDouble(e -> e.trainLoss).toArray(); }

    /**
     * The test value of evaluator {@code name} at every epoch.
     * @param name an evaluator's name
     * @return one test value per epoch
     */
    public double[] test(String name) { return epochs.stream().mapToDouble(e -> e.test(name)).toArray(); }

    /**
     * The model's total optimizer steps before this fit (non-zero when it continued an earlier training).
     * @return the steps before this fit
     */
    public long startStep() { return startStep; }

    /**
     * The model's total optimizer steps after this fit.
     * @return the steps after this fit
     */
    public long steps() { return steps; }

    /**
     * True when the fit diverged: a non-finite loss, or an epoch's loss past the limit of {@link FitOptions#divergenceFactor(double)}, stopped it (the parameters are then not usable: see {@link #message()}).
     * @return whether the fit diverged
     */
    public boolean diverged() { return diverged; }

    /**
     * Why the fit stopped early (divergence), else null.
     * @return the reason, or null
     */
    public String message() { return message; }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        for (Epoch e : epochs) b.append(e).append('\n');
        if (message != null) b.append(message).append('\n');
        return b.toString();
    }
}
