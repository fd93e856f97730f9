package org.fishleg.train;

import java.util.Locale;

/**
 * How the training batches (and FishLeg's auxiliary batches) are drawn from the training set.
 *
 * <ul>
 *   <li>{@link #SHUFFLE}: every epoch visits the examples once in a fresh seeded permutation (without
 *       replacement); the remainder of an epoch that does not fill a batch is dropped.</li>
 *   <li>{@link #BOOTSTRAP}: every index is drawn uniformly with replacement from a seeded generator, so a batch
 *       may repeat an example and miss others. The deep linear network of the FishLeg authors' OCaml code is
 *       trained this way: each batch of 40 is a bootstrap sample of the 40 training points.</li>
 *   <li>{@link #FULL}: every step uses the whole training set, in index order (batch size = training set
 *       size).</li>
 * </ul>
 */
public enum Sampling {
    /** A fresh seeded permutation every epoch. */
    SHUFFLE,
    /** Indices drawn uniformly with replacement. */
    BOOTSTRAP,
    /** The whole training set every step. */
    FULL;

    /**
     * The name used on the command line, in checkpoints and in messages.
     * @return the lower-case name
     */
    public String cliName() { return name().toLowerCase(Locale.ROOT); }

    @Override
    public String toString() { return cliName(); }

    /**
     * Parses shuffle, bootstrap or full (any case).
     * @param s the name
     * @return the sampling
     */
    public static Sampling parse(String s) {
        if (s != null) {
            for (Sampling v : values()) if (v.cliName().equals(s.trim().toLowerCase(Locale.ROOT))) return v;
        }
        throw new IllegalArgumentException("--sampling must be shuffle, bootstrap or full, got '" + s + "'");
    }
}
