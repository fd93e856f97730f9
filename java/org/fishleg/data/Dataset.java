package org.fishleg.data;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * An immutable host-side data set: {@code n} examples of {@code d} inputs (row-major {@code float[n*d]}),
 * optional targets of width {@code k} (row-major {@code float[n*k]}) and optional integer labels.
 *
 * <p>For an auto-encoder the targets are the inputs ({@link #targetsAreInputs()}); they then share one array.
 * The arrays are never exposed for writing: use the row copies, {@link #copyX()}, or the read-only buffers.
 */
public final class Dataset {
    private final String name;
    private final int n;
    private final int d;
    private final int k;
    private final float[] x;
    private final float[] y;      // null when there are no targets; == x for auto-encoder data
    private final int[] labels;   // null when there are no labels

    private Dataset(String name, int n, int d, float[] x, int k, float[] y, int[] labels) {
        this.name = Objects.requireNonNull(name, "name");
        if (n < 0 || d <= 0) throw new IllegalArgumentException("Dataset " + name + ": bad shape n=" + n + " d=" + d);
        Objects.requireNonNull(x, "x");
        if ((long) n * d != x.length)
            throw new IllegalArgumentException("Dataset " + name + ": x has " + x.length + " values, expected n*d = " + n + "*" + d);
        if (y != null) {
            if (k <= 0) throw new IllegalArgumentException("Dataset " + name + ": targets with width k=" + k);
            if ((long) n * k != y.length)
                throw new IllegalArgumentException("Dataset " + name + ": y has " + y.length + " values, expected n*k = " + n + "*" + k);
        } else if (k != 0) {
            throw new IllegalArgumentException("Dataset " + name + ": k=" + k + " but no targets");
        }
        if (labels != null && labels.length != n)
            throw new IllegalArgumentException("Dataset " + name + ": " + labels.length + " labels for " + n + " examples");
        this.n = n;
        this.d = d;
        this.k = k;
        this.x = x;
        this.y = y;
        this.labels = labels;
    }

    /**
     * A data set with targets {@code y} (n x k) and optional labels; the arrays are copied.
     * @param name the name used in messages
     * @param x inputs, row-major n x d
     * @param n number of examples
     * @param d input width
     * @param y targets, row-major n x k
     * @param k target width
     * @param labels integer labels, one per example, or null
     * @return the data set
     */
    public static Dataset of(String name, float[] x, int n, int d, float[] y, int k, int[] labels) {
        return new Dataset(name, n, d, x.clone(), y == null ? 0 : k, y == null ? null : y.clone(),
                labels == null ? null : labels.clone());
    }

    /**
     * Auto-encoder data (targets = inputs) with optional labels; the arrays are copied.
     * @param name the name used in messages
     * @param x inputs, row-major n x d
     * @param n number of examples
     * @param d input width
     * @param labels integer labels, one per example, or null
     * @return the data set
     */
    public static Dataset autoencoder(String name, float[] x, int n, int d, int[] labels) {
        return owningAutoencoder(name, x.clone(), n, d, labels == null ? null : labels.clone());
    }

    /** Auto-encoder data that takes ownership of {@code x} and {@code labels}: callers must not touch them afterwards. */
    static Dataset owningAutoencoder(String name, float[] x, int n, int d, int[] labels) {
        return new Dataset(name, n, d, x, d, x, labels);
    }

    /** Data that takes ownership of the arrays: callers must not touch them afterwards. */
    static Dataset owning(String name, float[] x, int n, int d, float[] y, int k, int[] labels) {
        return new Dataset(name, n, d, x, y == null ? 0 : k, y, labels);
    }

    /**
     * Name used in messages, e.g. "MNIST, train".
     * @return the name
     */
    public String name() { return name; }

    /**
     * Number of examples.
     * @return n
     */
    public int n() { return n; }

    /**
     * Input width.
     * @return d
     */
    public int d() { return d; }

    /**
     * Target width (0 when there are no targets).
     * @return k
     */
    public int k() { return k; }

    /**
     * True when the data set has targets (y).
     * @return whether there are targets
     */
    public boolean hasTargets() { return y != null; }

    /**
     * True when the data set has integer labels.
     * @return whether there are labels
     */
    public boolean hasLabels() { return labels != null; }

    /**
     * True for auto-encoder data, whose targets are its inputs.
     * @return whether the targets are the inputs
     */
    public boolean targetsAreInputs() { return y == x; }

    /**
     * Input {@code j} of example {@code i}.
     * @param i an example
     * @param j an input column
     * @return the input value
     */
    public float x(int i, int j) {
        Objects.checkIndex(i, n);
        Objects.checkIndex(j, d);
        return x[i * d + j];
    }

    /**
     * Target {@code j} of example {@code i}; throws when there are no targets.
     * @param i an example
     * @param j a target column
     * @return the target value
     */
    public float y(int i, int j) {
        if (y == null) throw new IllegalStateException("Dataset " + name + " has no targets");
        Objects.checkIndex(i, n);
        Objects.checkIndex(j, k);
        return y[i * k + j];
    }

    /**
     * Label of example {@code i}; throws when there are no labels.
     * @param i an example
     * @return its label
     */
    public int label(int i) {
        if (labels == null) throw new IllegalStateException("Dataset " + name + " has no labels");
        return labels[Objects.checkIndex(i, n)];
    }

    /**
     * Copies input row {@code i} into {@code out[off .. off+d)}.
     * @param i an example
     * @param out the destination
     * @param off where in {@code out} the row starts
     */
    public void copyXRow(int i, float[] out, int off) {
        System.arraycopy(x, Objects.checkIndex(i, n) * d, out, off, d);
    }

    /**
     * Copies target row {@code i} into {@code out[off .. off+k)}.
     * @param i an example
     * @param out the destination
     * @param off where in {@code out} the row starts
     */
    public void copyYRow(int i, float[] out, int off) {
        if (y == null) throw new IllegalStateException("Dataset " + name + " has no targets");
        System.arraycopy(y, Objects.checkIndex(i, n) * k, out, off, k);
    }

    /**
     * A copy of all inputs, row-major n x d.
     * @return the inputs
     */
    public float[] copyX() { return x.clone(); }

    /**
     * A copy of all targets, row-major n x k; throws when there are no targets.
     * @return the targets
     */
    public float[] copyY() {
        if (y == null) throw new IllegalStateException("Dataset " + name + " has no targets");
        return y.clone();
    }

    /**
     * A copy of the labels; throws when there are no labels.
     * @return the labels
     */
    public int[] copyLabels() {
        if (labels == null) throw new IllegalStateException("Dataset " + name + " has no labels");
        return labels.clone();
    }

    /**
     * A read-only view of all inputs (row-major n x d), without copying.
     * @return the inputs, read-only
     */
    public FloatBuffer xBuffer() { return FloatBuffer.wrap(x).asReadOnlyBuffer(); }

    /**
     * A read-only view of all targets (row-major n x k), without copying.
     * @return the targets, read-only
     */
    public FloatBuffer yBuffer() {
        if (y == null) throw new IllegalStateException("Dataset " + name + " has no targets");
        return FloatBuffer.wrap(y).asReadOnlyBuffer();
    }

    /**
     * Examples {@code from} (inclusive) to {@code to} (exclusive), in order.
     * @param from the first example
     * @param to one past the last example
     * @return the slice (copied)
     */
    public Dataset slice(int from, int to) {
        Objects.checkFromToIndex(from, to, n);
        float[] xs = Arrays.copyOfRange(x, from * d, to * d);
        int[] ls = labels == null ? null : Arrays.copyOfRange(labels, from, to);
        if (targetsAreInputs()) return owningAutoencoder(name, xs, to - from, d, ls);
        float[] ys = y == null ? null : Arrays.copyOfRange(y, from * k, to * k);
        return owning(name, xs, to - from, d, ys, k, ls);
    }

    /**
     * The examples at the given indices, in that order (indices may repeat).
     * @param indices the examples to take
     * @return the selection (copied)
     */
    public Dataset select(int[] indices) {
        int m = indices.length;
        float[] xs = new float[m * d];
        int[] ls = labels == null ? null : new int[m];
        for (int r = 0; r < m; r++) {
            int i = Objects.checkIndex(indices[r], n);
            System.arraycopy(x, i * d, xs, r * d, d);
            if (ls != null) ls[r] = labels[i];
        }
        if (targetsAreInputs()) return owningAutoencoder(name, xs, m, d, ls);
        float[] ys = null;
        if (y != null) {
            ys = new float[m * k];
            for (int r = 0; r < m; r++) System.arraycopy(y, indices[r] * k, ys, r * k, k);
        }
        return owning(name, xs, m, d, ys, k, ls);
    }

    /**
     * The same inputs with one-hot targets of width {@code classes} built from the labels (row i has a 1 in column
     * label(i)), as the softmax likelihood takes them; the labels are kept and the name gets " (labels)". Throws a
     * {@link DataException} naming the first label outside 0..classes-1, IllegalStateException without labels.
     * @param classes the number of classes
     * @return the data set with one-hot targets
     */
    public Dataset withOneHotTargets(int classes) {
        if (labels == null) throw new IllegalStateException("Dataset " + name + " has no labels to make one-hot targets from");
        if (classes < 1) throw new IllegalArgumentException("classes must be >= 1, got " + classes);
        float[] t = new float[Math.multiplyExact(n, classes)];
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= classes)
                throw new DataException(name + ": label " + labels[i] + " of example " + i + " is not a class 0-" + (classes - 1)
                        + (classes == 10 ? " (a corrupt or non-MNIST labels file?)" : ""));
            t[i * classes + labels[i]] = 1f;
        }
        return new Dataset(name + " (labels)", n, d, x, classes, t, labels);
    }

    /**
     * The same data under another name.
     * @param newName the new name
     * @return the renamed data set
     */
    public Dataset withName(String newName) {
        return new Dataset(newName, n, d, x, k, y, labels);
    }

    // package-private raw access for the batcher (no copies)
    float[] rawX() { return x; }

    float[] rawY() { return y; }

    int[] rawLabels() { return labels; }

    @Override
    public String toString() {
        return name + " [n=" + n + ", d=" + d + (y == null ? "" : targetsAreInputs() ? ", y=x" : ", k=" + k)
                + (labels == null ? "" : ", labels") + "]";
    }
}
