package org.fishleg.api;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.fishleg.train.LrSchedule;
import org.fishleg.train.Sampling;

/**
 * Settings of {@link Model#fit}: {@code FitOptions.epochs(5).batchSize(100).evaluators(Evaluator.loss(), Evaluator.accuracy())}.
 * Defaults: 1 epoch, batch 100, shuffled batches seeded with 1, a constant learning rate, the {@link Evaluator#loss()}
 * evaluator, no listener.
 */
public final class FitOptions {
    private int epochs = 1;
    private Integer batchSize;
    private long seed = 1;
    private Sampling sampling = Sampling.SHUFFLE;
    private LrSchedule lrSchedule = LrSchedule.CONSTANT;
    private double divergenceFactor = org.fishleg.train.TrainerConfig.DEFAULT_DIVERGENCE_FACTOR;
    private final List<Evaluator> evaluators = new ArrayList<>(List.of(Evaluator.loss()));
    private FitListener listener;

    private FitOptions() {}

    /**
     * The defaults.
     * @return new options with every default
     */
    public static FitOptions defaults() { return new FitOptions(); }

    /**
     * The defaults with {@code n} epochs.
     * @param n the number of epochs, at least 1
     * @return new options
     */
    public static FitOptions epochs(int n) { return new FitOptions().withEpochs(n); }

    /**
     * Sets the number of epochs this fit runs (each one pass over the training set; the remainder batch is dropped).
     * @param n the number of epochs, at least 1
     * @return these options
     */
    public FitOptions withEpochs(int n) {
        if (n < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + n);
        epochs = n;
        return this;
    }

    /**
     * Sets the training batch size (default 100; with {@link Sampling#FULL}: the training set size).
     * @param b examples per batch, at least 1
     * @return these options
     */
    public FitOptions batchSize(int b) {
        if (b < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + b);
        batchSize = b;
        return this;
    }

    /**
     * Sets the seed of the batch order and of FishLeg's auxiliary batches (the weights' seed is the model's).
     * @param s the seed
     * @return these options
     */
    public FitOptions seed(long s) { seed = s; return this; }

    /**
     * Sets how batches are drawn (default shuffle: a permutation per epoch).
     * @param s the sampling, not null
     * @return these options
     */
    public FitOptions sampling(Sampling s) {
        if (s == null) throw new IllegalArgumentException("sampling must not be null");
        sampling = s;
        return this;
    }

    /**
     * Sets how the optimizer's learning rate changes over this fit's steps (default constant), e.g.
     * {@code LrSchedule.parse("cosine,start=0.5")}; a fit that continues an earlier one starts the schedule afresh
     * at its own first step.
     * @param s the schedule, not null
     * @return these options
     */
    public FitOptions lrSchedule(LrSchedule s) {
        if (s == null) throw new IllegalArgumentException("learning-rate schedule must not be null");
        lrSchedule = s;
        return this;
    }

    /**
     * Sets when a fit counts as diverged although its loss is finite: when an epoch's mean training loss exceeds
     * L1 + factor * max(|L1|, 1), L1 being the loss of the fit's first step (default 100; 0: only non-finite losses stop a
     * fit). A diverged fit stops, and its {@link History#diverged()} says why.
     * @param factor a finite number {@code >= 0}
     * @return these options
     */
    public FitOptions divergenceFactor(double factor) {
        if (!(factor >= 0) || !Double.isFinite(factor))
            throw new IllegalArgumentException("divergence factor must be a finite number >= 0 (0: off), got " + factor);
        divergenceFactor = factor;
        return this;
    }

    /**
     * Replaces the evaluators run on the test set after each epoch (none: only the training loss is reported).
     * @param e the evaluators, in the order their values are reported
     * @return these options
     */
    public FitOptions evaluators(Evaluator... e) {
        evaluators.clear();
        for (Evaluator x : e) {
            if (x == null) throw new IllegalArgumentException("null evaluator");
            evaluators.add(x);
        }
        return this;
    }

    /**
     * Sets a listener told about every epoch (null for none).
     * @param l the listener, or null
     * @return these options
     */
    public FitOptions listener(FitListener l) { listener = l; return this; }

    /**
     * Epochs to run.
     * @return the number of epochs
     */
    public int epochs() { return epochs; }
    /** The batch size for a training set of {@code n} examples. */
    int batchSizeFor(int n) { return batchSize != null ? batchSize : sampling == Sampling.FULL ? n : 100; }
    /**
     * Seed of the batch order.
     * @return the seed of the batch order
     */
    public long seed() { return seed; }
    /**
     * Batch sampling.
     * @return how batches are drawn
     */
    public Sampling sampling() { return sampling; }
    /**
     * The learning-rate schedule over this fit's steps.
     * @return the schedule
     */
    public LrSchedule lrSchedule() { return lrSchedule; }
    /**
     * The divergence factor ({@link #divergenceFactor(double)}).
     * @return the factor, 0 when off
     */
    public double divergenceFactor() { return divergenceFactor; }
    /**
     * The evaluators (unmodifiable).
     * @return the evaluators, in order
     */
    public List<Evaluator> evaluators() { return Collections.unmodifiableList(evaluators); }
    /**
     * The listener, or null.
     * @return the listener, or null
     */
    public FitListener listener() { return listener; }
}
