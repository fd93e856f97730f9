package org.fishleg.bench;

import java.util.Locale;

/**
 * The benchmark suites of {@code fishleg bench suite}: the paper's auto-encoders and the deep linear network, each
 * with its default length, its {@code --quick} length and the test-loss targets of its summary table.
 *
 * <p>The auto-encoders run at batch 1000 (the KFAC / K-BFGS benchmark's batch) and count epochs; the deep linear
 * network keeps the {@code train --model dln} defaults (bootstrap batches of 40 drawn from its 40 training points),
 * so an epoch is one step and its length is in steps, evaluated every 10 steps.
 */
public enum BenchmarkSuite {
    /**
     * MNIST auto-encoder: 75 epochs (the epoch of the published KFAC point, test 57.60); test NLL targets 80, 70,
     * 60 and 57.
     */
    MNIST_AE("mnist-ae", "mnist-ae", 75, 10, 1, new double[] {80, 70, 60, 57}),
    /** Regenerated CURVES auto-encoder: 100 epochs. */
    CURVES_AE("curves-ae", "curves-ae", 100, 10, 1, new double[] {120, 100, 80}),
    /** FACES-like auto-encoder (Gaussian, sigma 1): 50 epochs. */
    FACES_AE("faces-ae", "faces-ae", 50, 5, 1, new double[] {620, 600, 590}),
    /** Deep linear network: 20000 steps (one per epoch), evaluated every 10. */
    DLN("dln", "dln", 20000, 2000, 10, new double[] {0, -25, -50});

    /** The suite's name on the command line. */
    public final String cliName;
    /** The named model it trains. */
    public final String model;
    /** Default epochs, and epochs with {@code --quick}. */
    public final int epochs, quickEpochs;
    /** Evaluate every this many epochs by default. */
    public final int evalEveryEpochs;
    private final double[] targets;

    BenchmarkSuite(String cliName, String model, int epochs, int quickEpochs, int evalEveryEpochs, double[] targets) {
        this.cliName = cliName;
        this.model = model;
        this.epochs = epochs;
        this.quickEpochs = quickEpochs;
        this.evalEveryEpochs = evalEveryEpochs;
        this.targets = targets;
    }

    /** Training examples kept by {@code --quick} (an evenly spaced subset), and test examples. */
    public static final int QUICK_TRAIN = 10_000, QUICK_TEST = 10_000;

    /** Test-loss targets of the summary (decreasing). */
    public double[] targets() { return targets.clone(); }

    /** True for the deep linear network (steps rather than epochs, its own batching). */
    public boolean stepsBased() { return this == DLN; }

    /** The suite named {@code name}, or an IllegalArgumentException listing the names. */
    public static BenchmarkSuite parse(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        for (BenchmarkSuite s : values()) if (s.cliName.equals(n)) return s;
        throw new IllegalArgumentException("unknown suite '" + name + "' (expected one of " + names() + ")");
    }

    /** "mnist-ae, curves-ae, faces-ae, dln". */
    public static String names() {
        StringBuilder b = new StringBuilder();
        for (BenchmarkSuite s : values()) b.append(b.length() == 0 ? "" : ", ").append(s.cliName);
        return b.toString();
    }
}
