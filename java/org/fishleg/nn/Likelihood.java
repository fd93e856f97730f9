package org.fishleg.nn;

import org.fishleg.backend.LikelihoodKind;

/**
 * The output distribution p(y | f) of a network: Bernoulli on logits, Gaussian with a fixed or learned
 * scalar sigma, or softmax categorical on logits. The kernels live in the backend
 * ({@link org.fishleg.backend.Backend#nll} and friends); this class holds the configuration.
 */
public final class Likelihood {
    /** Which distribution. */
    public final LikelihoodKind kind;
    /** Initial (or fixed) sigma for GAUSSIAN. */
    public final float sigma;
    /** True when sigma is a trained parameter (the last element of the model's parameter vector). */
    public final boolean learnSigma;
    /** Bounds applied to a learned sigma after each update (in log space when {@link #logSigma}). */
    public final float sigmaMin, sigmaMax;
    /**
     * True when the trained parameter is s = log sigma (sigma = exp(s)) rather than sigma itself. Its
     * Fisher is the constant 2 n_out instead of 2 n_out / sigma^2, so a preconditioner learned for it does
     * not have to track a curvature that grows without bound as sigma shrinks.
     */
    public final boolean logSigma;

    private Likelihood(LikelihoodKind kind, float sigma, boolean learnSigma, float sigmaMin, float sigmaMax) {
        this(kind, sigma, learnSigma, sigmaMin, sigmaMax, false);
    }

    private Likelihood(LikelihoodKind kind, float sigma, boolean learnSigma, float sigmaMin, float sigmaMax, boolean logSigma) {
        if (kind == LikelihoodKind.GAUSSIAN && !(sigma > 0))
            throw new IllegalArgumentException("Gaussian sigma must be > 0, got " + sigma);
        if (learnSigma && !(sigmaMin > 0 && sigmaMin <= sigma && sigma <= sigmaMax))
            throw new IllegalArgumentException("learned sigma needs 0 < min <= init <= max, got " + sigmaMin + ", " + sigma + ", " + sigmaMax);
        this.kind = kind;
        this.sigma = sigma;
        this.learnSigma = learnSigma;
        this.sigmaMin = sigmaMin;
        this.sigmaMax = sigmaMax;
        this.logSigma = learnSigma && logSigma;
    }

    /**
     * Bernoulli on logits: p(y = 1 | f) = sigmoid(f), targets in [0, 1].
     * @return the Bernoulli likelihood
     */
    public static Likelihood bernoulli() { return new Likelihood(LikelihoodKind.BERNOULLI, 1f, false, 0, 0); }
    /**
     * Categorical on logits: p = softmax(f) per row, targets one-hot rows.
     * @return the softmax likelihood
     */
    public static Likelihood softmax() { return new Likelihood(LikelihoodKind.SOFTMAX, 1f, false, 0, 0); }
    /**
     * Gaussian with mean f and fixed standard deviation {@code sigma} &gt; 0.
     * @param sigma the standard deviation
     * @return the Gaussian likelihood
     */
    public static Likelihood gaussian(float sigma) { return new Likelihood(LikelihoodKind.GAUSSIAN, sigma, false, 0, 0); }
    /**
     * Gaussian whose scalar sigma is trained, starting at {@code init} and kept in [min, max].
     * @param init the initial sigma
     * @param min the lower bound of sigma
     * @param max the upper bound of sigma
     * @return the Gaussian likelihood with learned sigma
     */
    public static Likelihood gaussianLearned(float init, float min, float max) {
        return new Likelihood(LikelihoodKind.GAUSSIAN, init, true, min, max);
    }
    /**
     * A learned sigma trained as s = log sigma (init and bounds given as sigma values).
     * @param init the initial sigma
     * @param min the lower bound of sigma
     * @param max the upper bound of sigma
     * @return the Gaussian likelihood with learned log sigma
     */
    public static Likelihood gaussianLogSigma(float init, float min, float max) {
        return new Likelihood(LikelihoodKind.GAUSSIAN, init, true, min, max, true);
    }

    /**
     * Parses bernoulli, softmax, gaussian, gaussian:SIGMA, gaussian-learned, gaussian-logsigma.
     * @param s the text, as {@link #toString()} writes it
     * @return the likelihood
     */
    public static Likelihood parse(String s) {
        String t = s.trim().toLowerCase(java.util.Locale.ROOT);
        if (t.equals("bernoulli")) return bernoulli();
        if (t.equals("softmax") || t.equals("categorical")) return softmax();
        if (t.equals("gaussian")) return gaussian(1f);
        if (t.startsWith("gaussian:")) {
            try {
                return gaussian(Float.parseFloat(t.substring(9)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("likelihood '" + s + "': sigma is not a number");
            }
        }
        if (t.equals("gaussian-learned")) return gaussianLearned(0.1f, 1e-4f, 1f);
        if (t.equals("gaussian-logsigma")) return gaussianLogSigma(0.1f, 1e-4f, 1f);
        throw new IllegalArgumentException("unknown likelihood '" + s
                + "' (expected bernoulli, softmax, gaussian, gaussian:SIGMA, gaussian-learned, gaussian-logsigma)");
    }

    @Override
    public String toString() {
        switch (kind) {
            case BERNOULLI: return "bernoulli";
            case SOFTMAX: return "softmax";
            default: return learnSigma ? (logSigma ? "gaussian-logsigma(init " : "gaussian-learned(init ") + sigma + ")" : "gaussian:" + sigma;
        }
    }
}
