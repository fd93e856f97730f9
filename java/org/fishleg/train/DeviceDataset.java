package org.fishleg.train;

import java.nio.FloatBuffer;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.data.Dataset;

/**
 * A data set resident in backend memory: inputs as one n x d tensor and targets as one n x k tensor (the
 * same tensor for auto-encoder data, whose targets are its inputs). Uploaded once, in chunks of rows so no
 * second full host copy is made; mini-batches are then gathered on the backend
 * ({@link Backend#gatherRows}).
 */
public final class DeviceDataset implements AutoCloseable {
    private static final int CHUNK_ROWS = 4096;

    private final String name;
    private final Tensor x;
    private final Tensor y;
    private final boolean targetsAreInputs;

    private DeviceDataset(String name, Tensor x, Tensor y, boolean targetsAreInputs) {
        this.name = name;
        this.x = x;
        this.y = y;
        this.targetsAreInputs = targetsAreInputs;
    }

    /**
     * Uploads a host data set (it must have targets).
     * @param backend the backend to upload to
     * @param data the host data set, with targets
     * @return the data set on the backend; close it to free the memory
     */
    public static DeviceDataset upload(Backend backend, Dataset data) {
        if (!data.hasTargets())
            throw new IllegalArgumentException("data set " + data.name() + " has no targets to train on");
        if (data.n() == 0) throw new IllegalArgumentException("data set " + data.name() + " is empty");
        Tensor x = uploadRows(backend, data.xBuffer(), data.n(), data.d());
        if (data.targetsAreInputs()) return new DeviceDataset(data.name(), x, x, true);
        try {
            Tensor y = uploadRows(backend, data.yBuffer(), data.n(), data.k());
            return new DeviceDataset(data.name(), x, y, false);
        } catch (RuntimeException e) {
            x.close();
            throw e;
        }
    }

    /**
     * Wraps tensors already on the backend (x and y may be the same tensor); they are closed with this object.
     * @param name the name used in messages
     * @param x inputs, n x d
     * @param y targets, n x k
     * @return the data set, owning both tensors
     */
    public static DeviceDataset of(String name, Tensor x, Tensor y) {
        if (x.rows() != y.rows())
            throw new IllegalArgumentException("inputs " + x.shape() + " and targets " + y.shape() + " differ in rows");
        return new DeviceDataset(name, x, y, x == y);
    }

    private static Tensor uploadRows(Backend backend, FloatBuffer src, int n, int cols) {
        Tensor t = backend.zeros(n, cols);
        try {
            float[] chunk = new float[Math.min(n, CHUNK_ROWS) * cols];
            for (int r = 0; r < n; r += CHUNK_ROWS) {
                int rows = Math.min(CHUNK_ROWS, n - r);
                float[] buf = rows * cols == chunk.length ? chunk : new float[rows * cols];
                src.position(r * cols);
                src.get(buf, 0, rows * cols);
                backend.upload(buf, t.rowRange(r, r + rows));
            }
            return t;
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
    }

    /**
     * The data set's name.
     * @return the name
     */
    public String name() { return name; }
    /**
     * Inputs, n x d, on the backend.
     * @return the inputs
     */
    public Tensor x() { return x; }
    /**
     * Targets, n x k, on the backend (the same tensor as {@link #x()} for auto-encoder data).
     * @return the targets
     */
    public Tensor y() { return y; }
    /**
     * Number of examples.
     * @return n
     */
    public int n() { return x.rows(); }
    /** Input width d. */
    int inputWidth() { return x.cols(); }
    /** Target width k. */
    int targetWidth() { return y.cols(); }
    /**
     * True for auto-encoder data, whose targets are its inputs.
     * @return whether the targets are the inputs
     */
    public boolean targetsAreInputs() { return targetsAreInputs; }

    @Override
    public void close() {
        x.close();
        if (!targetsAreInputs) y.close();
    }
}
