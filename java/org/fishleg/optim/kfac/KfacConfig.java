package org.fishleg.optim.kfac;

import java.util.Locale;

/**
 * KFAC hyper-parameters (Martens and Grosse 2015, as run by the KFAC/K-BFGS auto-encoder benchmark code:
 * batch 1000, factor moving averages 0.9, factored Tikhonov damping, inverses every 20 steps, gradient
 * momentum 0.9, L2 1e-5). Immutable; {@link #builder()} starts from the defaults.
 */
public final class KfacConfig {
    /** Where the output-side factor G comes from. */
    public enum Curvature {
        /** Errors of the loss on targets sampled from the model (the Fisher; Martens and Grosse). */
        SAMPLED,
        /** Errors of the loss on the batch's own targets (the empirical Fisher). */
        EMPIRICAL;

        /**
         * Parses "sampled" or "empirical" (case-insensitive).
         * @param s "sampled" or "empirical"
         * @return the curvature source
         */
        public static Curvature parse(String s) {
            switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "sampled": case "fisher": return SAMPLED;
                case "empirical": return EMPIRICAL;
                default: throw new IllegalArgumentException("KFAC curvature must be sampled or empirical, got '" + s + "'");
            }
        }
    }

    /** How the damping gamma is shared between a layer's two factors. */
    public enum DampingSplit {
        /**
         * sqrt(gamma) added to each factor: (A + sqrt(gamma) I) and (G + sqrt(gamma) I), as the KFAC/K-BFGS
         * benchmark code does it. A factor of small scale is then damped strongly, which keeps lr 1 stable.
         */
        NONE,
        /**
         * Martens and Grosse's factored Tikhonov split: (A + pi sqrt(gamma) I) and (G + sqrt(gamma) / pi I) with
         * pi = sqrt((tr A / dim A) / (tr G / dim G)), so both factors get the same relative shift.
         */
        PI;

        /**
         * Parses "none" or "pi" (case-insensitive).
         * @param s "none" or "pi"
         * @return the split
         */
        public static DampingSplit parse(String s) {
            switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "none": return NONE;
                case "pi": return PI;
                default: throw new IllegalArgumentException("KFAC damping split must be none or pi, got '" + s + "'");
            }
        }
    }

    /**
     * Default learning rate: 1, the benchmark code's demo value (with damping 3 and {@link DampingSplit#NONE}). With
     * the pi split, lr 1 and 0.3 diverge within 10 steps on the MNIST auto-encoder at batch 1000; there 0.1 was the
     * best of a 1-epoch screen (docs/RESULTS.md, MNIST suite).
     */
    public static final float DEFAULT_LR = 1f;
    /** Default Tikhonov damping gamma. */
    public static final float DEFAULT_DAMPING = 3f;

    /** Learning rate: theta -= lr * (A + a I)^-1 gbar (G + g I)^-1 per layer (a, g from the damping and its split). */
    public final float lr;
    /** Damping gamma: sqrt(gamma) on each factor, or split as pi sqrt(gamma) and sqrt(gamma) / pi ({@link #dampingSplit}). */
    public final float damping;
    /** How the damping is shared between the two factors. */
    public final DampingSplit dampingSplit;
    /** Moving-average decay of the factors A and G (0 = the current batch only; see {@link #warmup}). */
    public final float statDecay;
    /** Steps between recomputations of the factor inverses (see {@link #warmup} for the first ones). */
    public final int inverseEvery;
    /** EMA coefficient of the gradient momentum: gbar = mu gbar + (1 - mu) g (0 = none). */
    public final float momentum;
    /** L2 weight decay added to the gradient before the momentum. */
    public final float weightDecay;
    /** The source of the G factor's errors. */
    public final Curvature curvature;
    /**
     * The benchmark code's warm-up: step i averages the factors with min(1 - 1/(i + 1), statDecay), so the early
     * averages are plain means of the batches so far, and steps 0 to inverseEvery all invert. Without it step 0 takes
     * its batch's factors as they are, later steps use statDecay, and only steps that are multiples of inverseEvery
     * invert. On by default.
     */
    public final boolean warmup;

    private KfacConfig(Builder b) {
        lr = b.lr;
        damping = b.damping;
        dampingSplit = b.dampingSplit;
        statDecay = b.statDecay;
        inverseEvery = b.inverseEvery;
        momentum = b.momentum;
        weightDecay = b.weightDecay;
        curvature = b.curvature;
        warmup = b.warmup;
        if (!(lr > 0f) || !Float.isFinite(lr)) throw new IllegalArgumentException("KFAC lr must be > 0, got " + lr);
        if (!(damping > 0f) || !Float.isFinite(damping)) throw new IllegalArgumentException("KFAC damping must be > 0, got " + damping);
        if (!(statDecay >= 0f && statDecay < 1f)) throw new IllegalArgumentException("KFAC statistics decay must be in [0, 1), got " + statDecay);
        if (inverseEvery < 1) throw new IllegalArgumentException("KFAC inverse period must be >= 1, got " + inverseEvery);
        if (!(momentum >= 0f && momentum < 1f)) throw new IllegalArgumentException("KFAC momentum must be in [0, 1), got " + momentum);
        if (!(weightDecay >= 0f) || !Float.isFinite(weightDecay)) throw new IllegalArgumentException("KFAC weight decay must be >= 0, got " + weightDecay);
        if (curvature == null) throw new IllegalArgumentException("KFAC curvature is missing");
        if (dampingSplit == null) throw new IllegalArgumentException("KFAC damping split is missing");
    }

    /**
     * The defaults: lr 1, damping 3 (sqrt(3) on each factor), statistics decay 0.9, inverses every 20 steps, momentum 0.9, L2 1e-5, sampled targets.
     * @return the default configuration
     */
    public static KfacConfig defaults() { return builder().build(); }

    /**
     * A builder starting from the defaults.
     * @return the builder
     */
    public static Builder builder() { return new Builder(); }

    /**
     * A builder starting from this configuration.
     * @return the builder
     */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.lr = lr; b.damping = damping; b.statDecay = statDecay; b.inverseEvery = inverseEvery;
        b.momentum = momentum; b.weightDecay = weightDecay; b.curvature = curvature; b.dampingSplit = dampingSplit; b.warmup = warmup;
        return b;
    }

    /** Builder of {@link KfacConfig}; {@link #build} checks the ranges. */
    public static final class Builder {
        private float lr = DEFAULT_LR, damping = DEFAULT_DAMPING, statDecay = 0.9f, momentum = 0.9f, weightDecay = 1e-5f;
        private int inverseEvery = 20;
        private Curvature curvature = Curvature.SAMPLED;
        private DampingSplit dampingSplit = DampingSplit.NONE;
        private boolean warmup = true;

        private Builder() {}

        /**
         * Sets the learning rate.
         * @param v the learning rate
         * @return this builder
         */
        public Builder lr(float v) { lr = v; return this; }
        /**
         * Sets the damping gamma.
         * @param v the damping gamma
         * @return this builder
         */
        public Builder damping(float v) { damping = v; return this; }
        /**
         * Sets how the damping is shared between the factors.
         * @param v the split
         * @return this builder
         */
        public Builder dampingSplit(DampingSplit v) { dampingSplit = v; return this; }
        /**
         * Sets whether the benchmark code's warm-up is used ({@link KfacConfig#warmup}).
         * @param v true for the warm-up
         * @return this builder
         */
        public Builder warmup(boolean v) { warmup = v; return this; }
        /**
         * Sets the factor moving-average decay.
         * @param v the decay rate
         * @return this builder
         */
        public Builder statDecay(float v) { statDecay = v; return this; }
        /**
         * Sets the inverse period in steps.
         * @param v the period in steps
         * @return this builder
         */
        public Builder inverseEvery(int v) { inverseEvery = v; return this; }
        /**
         * Sets the gradient momentum.
         * @param v the momentum coefficient
         * @return this builder
         */
        public Builder momentum(float v) { momentum = v; return this; }
        /**
         * Sets the L2 weight decay.
         * @param v the weight decay coefficient
         * @return this builder
         */
        public Builder weightDecay(float v) { weightDecay = v; return this; }
        /**
         * Sets the source of the G factor.
         * @param v where the G factor's errors come from
         * @return this builder
         */
        public Builder curvature(Curvature v) { curvature = v; return this; }
        /**
         * The checked configuration.
         * @return the configuration
         */
        public KfacConfig build() { return new KfacConfig(this); }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "lr=%g damping=%g split=%s statDecay=%g inverseEvery=%d warmup=%s momentum=%g wd=%g curvature=%s",
                lr, damping, dampingSplit.name().toLowerCase(Locale.ROOT), statDecay, inverseEvery, warmup ? "on" : "off", momentum, weightDecay, curvature.name().toLowerCase(Locale.ROOT));
    }
}
