package org.fishleg.api;

import java.util.Objects;

/**
 * A metric over a data set, computed chunk by chunk from the network's outputs ({@link Model#evaluate},
 * {@link Model#fit}). Built in: {@link #loss()} (the mean negative log-likelihood, the training objective),
 * {@link #accuracy()} (the fraction of examples whose arg-max output is the true class) and
 * {@link #meanSquaredError()}. Write your own by implementing {@link #name()} and {@link #newAccumulator()}.
 */
public interface Evaluator {

    /**
     * The metric's name, the key of its value in {@link Model#evaluate} and {@link History}.
     * @return the metric's name, e.g. "loss"
     */
    String name();

    /**
     * A fresh accumulator for one pass over a data set.
     * @return an empty accumulator
     */
    Accumulator newAccumulator();

    /**
     * True when the accumulator reads {@link Chunk#meanLoss} (computed on the backend only when asked for).
     * @return true when {@link Chunk#meanLoss} must be computed for this metric
     */
    default boolean needsLoss() { return false; }

    /** Sums one pass over a data set. */
    interface Accumulator {
        /**
         * Adds one chunk of examples.
         * @param chunk the outputs, targets and labels of some rows
         */
        void add(Chunk chunk);

        /**
         * The metric over every chunk added.
         * @return the metric, NaN when no rows were added
         */
        double result();
    }

    /**
     * A chunk of examples as host arrays: the network outputs f (logits for softmax and Bernoulli, the mean for a
     * Gaussian), the targets and, when the data set has them, the integer labels.
     */
    final class Chunk {
        /** Examples in the chunk. */
        public final int rows;
        /** Output (and target) width. */
        public final int width;
        /** Network outputs, row-major rows x width. */
        public final float[] outputs;
        /** Targets, row-major rows x width. */
        public final float[] targets;
        /** Integer labels (rows of them), or null. */
        public final int[] labels;
        /** Mean NLL over the chunk's rows (NaN unless an evaluator {@link Evaluator#needsLoss() needs it}). */
        public final double meanLoss;

        /**
         * A chunk; {@code labels} may be null, {@code meanLoss} NaN.
         * @param rows number of examples in the chunk
         * @param width outputs per example
         * @param outputs network outputs, {@code rows * width} values
         * @param targets targets, {@code rows * width} values
         * @param labels integer labels, one per row, or null
         * @param meanLoss mean NLL over the rows, or NaN
         */
        public Chunk(int rows, int width, float[] outputs, float[] targets, int[] labels, double meanLoss) {
            if (rows < 0 || width < 1) throw new IllegalArgumentException("chunk of " + rows + " x " + width);
            if (Objects.requireNonNull(outputs, "outputs").length != rows * width
                    || Objects.requireNonNull(targets, "targets").length != rows * width)
                throw new IllegalArgumentException("outputs and targets must hold rows x width = " + rows * width + " values");
            if (labels != null && labels.length != rows) throw new IllegalArgumentException(labels.length + " labels for " + rows + " rows");
            this.rows = rows;
            this.width = width;
            this.outputs = outputs;
            this.targets = targets;
            this.labels = labels;
            this.meanLoss = meanLoss;
        }

        /**
         * The arg-max output column of row {@code r} (for width 1: 1 when the output is positive, else 0).
         * @param r a row of the chunk
         * @return the predicted class of that row
         */
        public int predictedClass(int r) { return argmax(outputs, r, width, 0f); }

        /**
         * The true class of row {@code r}: its label when there are labels, else the arg-max target column (width 1: target &gt;= 0.5).
         * @param r a row of the chunk
         * @return the true class of that row
         */
        public int trueClass(int r) { return labels != null ? labels[r] : argmax(targets, r, width, 0.5f); }

        static int argmax(float[] a, int r, int width, float threshold) {
            if (width == 1) return a[r] > threshold ? 1 : 0;
            int best = 0;
            for (int j = 1; j < width; j++) if (a[r * width + j] > a[r * width + best]) best = j;
            return best;
        }
    }

    /**
     * Mean negative log-likelihood per example (the loss the optimizer minimises), named "loss".
     * @return the "loss" evaluator
     */
    static Evaluator loss() {
        return new Evaluator() {
            @Override public String name() { return "loss"; }
            @Override public boolean needsLoss() { return true; }
            @Override public Accumulator newAccumulator() {
                return new Accumulator() {
                    double sum;
                    long n;
                    @Override public void add(Chunk c) { sum += c.meanLoss * c.rows; n += c.rows; }
                    @Override public double result() { return n == 0 ? Double.NaN : sum / n; }
                };
            }
        };
    }

    /**
     * Classification accuracy, named "accuracy": the fraction of examples whose arg-max output is the true class
     * ({@link Chunk#predictedClass}, {@link Chunk#trueClass}).
     * @return the "accuracy" evaluator
     */
    static Evaluator accuracy() {
        return new Evaluator() {
            @Override public String name() { return "accuracy"; }
            @Override public Accumulator newAccumulator() {
                return new Accumulator() {
                    long right, n;
                    @Override public void add(Chunk c) {
                        for (int r = 0; r < c.rows; r++) if (c.predictedClass(r) == c.trueClass(r)) right++;
                        n += c.rows;
                    }
                    @Override public double result() { return n == 0 ? Double.NaN : (double) right / n; }
                };
            }
        };
    }

    /**
     * Mean over examples of ||f(x) - y||^2 (summed over outputs), named "mse".
     * @return the "mse" evaluator
     */
    static Evaluator meanSquaredError() {
        return new Evaluator() {
            @Override public String name() { return "mse"; }
            @Override public Accumulator newAccumulator() {
                return new Accumulator() {
                    double sum;
                    long n;
                    @Override public void add(Chunk c) {
                        for (int i = 0; i < c.outputs.length; i++) {
                            double d = (double) c.outputs[i] - c.targets[i];
                            sum += d * d;
                        }
                        n += c.rows;
                    }
                    @Override public double result() { return n == 0 ? Double.NaN : sum / n; }
                };
            }
        };
    }
}
