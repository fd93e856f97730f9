package org.fishleg.backend;

/**
 * Row-wise likelihoods p(y | f) over network outputs f (one row per example), with canonical links:
 * BERNOULLI on logits (p = sigmoid(f)), GAUSSIAN with mean f and a scalar sigma, SOFTMAX categorical on
 * logits (targets one-hot rows).
 */
public enum LikelihoodKind {
    /** Bernoulli on logits. */
    BERNOULLI,
    /** Gaussian with mean f and a scalar sigma. */
    GAUSSIAN,
    /** Softmax categorical on logits. */
    SOFTMAX
}
