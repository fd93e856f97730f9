package org.fishleg.data;

import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Seeded, shuffled mini-batches over a {@link Dataset}, copied into caller-owned row-major host arrays.
 *
 * <p>Each epoch visits every example once (the last, smaller batch is dropped when {@code dropLast}) in the
 * order of a permutation that is a pure function of {@code (seed, epoch)}: a Fisher-Yates shuffle of
 * 0..n-1 driven by a {@link SplittableRandom} seeded from both. The batcher's whole state is therefore
 * (seed, epoch, position), and {@link #state()} / {@link #restore(long[])} give an exact continuation.
 *
 * <p>Counters: {@link #epoch()} is the number of completed epochs and {@link #stepInEpoch()} the number of
 * batches already taken in the current one; the epoch rolls over (and the data are reshuffled) right after
 * its last batch is taken.
 */
public final class Batcher {
    private static final long STATE_FORMAT = 1;
    private static final int STATE_LENGTH = 7;

    private final Dataset data;
    private final int batchSize;
    private final long seed;
    private final boolean dropLast;
    private final int n;
    private final int limit;            // examples used per epoch
    private final int batchesPerEpoch;

    private long epoch;
    private int position;               // examples already taken in this epoch
    private int[] perm;
    private final int[] lastIndices;
    private int lastCount;

    /**
     * Seeded shuffled batches of {@code data}; with {@code dropLast} the remainder that does not fill a batch is skipped.
     * @param data the data set
     * @param batchSize examples per batch
     * @param seed the seed of the permutations
     * @param dropLast whether to skip the short last batch of an epoch
     */
    public Batcher(Dataset data, int batchSize, long seed, boolean dropLast) {
        this.data = Objects.requireNonNull(data, "data");
        if (batchSize <= 0) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        this.n = data.n();
        if (n == 0) throw new IllegalArgumentException("Batcher: data set " + data.name() + " is empty");
        if (dropLast && batchSize > n)
            throw new IllegalArgumentException("Batcher: batch size " + batchSize + " exceeds the " + n
                    + " examples of " + data.name() + " with dropLast: no batch would ever be produced");
        this.batchSize = batchSize;
        this.seed = seed;
        this.dropLast = dropLast;
        this.batchesPerEpoch = dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
        this.limit = dropLast ? batchesPerEpoch * batchSize : n;
        this.lastIndices = new int[batchSize];
        this.epoch = 0;
        this.position = 0;
        this.perm = permutation(seed, 0, n);
    }

    /**
     * The data set batched.
     * @return the data set
     */
    public Dataset dataset() { return data; }

    /**
     * Examples per batch.
     * @return the batch size
     */
    public int batchSize() { return batchSize; }

    /**
     * The seed of every epoch's permutation.
     * @return the seed
     */
    public long seed() { return seed; }

    /**
     * Whether a short last batch is dropped.
     * @return whether a short last batch is dropped
     */
    public boolean dropLast() { return dropLast; }

    /**
     * Batches in one epoch.
     * @return the number of batches per epoch
     */
    public int batchesPerEpoch() { return batchesPerEpoch; }

    /**
     * Number of completed epochs.
     * @return the completed epochs
     */
    public long epoch() { return epoch; }

    /**
     * Batches already taken in the current epoch (0 right after an epoch boundary).
     * @return the batches taken in this epoch
     */
    public int stepInEpoch() { return position / batchSize; }

    /**
     * Total batches taken since the start.
     * @return the batches taken in total
     */
    public long step() { return epoch * batchesPerEpoch + stepInEpoch(); }

    /**
     * Rows the next call to {@link #nextBatch} will fill.
     * @return the rows of the next batch
     */
    public int nextBatchRows() { return Math.min(batchSize, limit - position); }

    /**
     * Fills {@code xOut} (at least batchSize x d) and, when not null, {@code yOut} (at least batchSize x k)
     * with the next batch, row-major. Returns the number of rows filled: {@code batchSize}, or fewer for the
     * last batch of an epoch when {@code dropLast} is false.
     * @param xOut receives the inputs, row-major
     * @param yOut receives the targets, row-major, or null
     * @return the number of rows filled
     */
    public int nextBatch(float[] xOut, float[] yOut) { return nextBatch(xOut, yOut, null); }

    /**
     * As {@link #nextBatch(float[], float[])}, also filling {@code labelsOut} when it is not null.
     * @param xOut receives the inputs, row-major
     * @param yOut receives the targets, row-major, or null
     * @param labelsOut receives the labels, or null
     * @return the number of rows filled
     */
    public int nextBatch(float[] xOut, float[] yOut, int[] labelsOut) {
        int d = data.d();
        int k = data.k();
        Objects.requireNonNull(xOut, "xOut");
        if (xOut.length < (long) batchSize * d)
            throw new IllegalArgumentException("xOut holds " + xOut.length + " floats, need batchSize*d = " + batchSize + "*" + d);
        if (yOut != null) {
            if (!data.hasTargets()) throw new IllegalArgumentException("data set " + data.name() + " has no targets, yet yOut was given");
            if (yOut.length < (long) batchSize * k)
                throw new IllegalArgumentException("yOut holds " + yOut.length + " floats, need batchSize*k = " + batchSize + "*" + k);
        }
        if (labelsOut != null) {
            if (!data.hasLabels()) throw new IllegalArgumentException("data set " + data.name() + " has no labels, yet labelsOut was given");
            if (labelsOut.length < batchSize)
                throw new IllegalArgumentException("labelsOut holds " + labelsOut.length + " ints, need batchSize = " + batchSize);
        }
        float[] x = data.rawX();
        float[] y = data.rawY();
        int[] labels = data.rawLabels();
        int rows = nextBatchRows();
        for (int r = 0; r < rows; r++) {
            int i = perm[position + r];
            lastIndices[r] = i;
            System.arraycopy(x, i * d, xOut, r * d, d);
            if (yOut != null) System.arraycopy(y, i * k, yOut, r * k, k);
            if (labelsOut != null) labelsOut[r] = labels[i];
        }
        lastCount = rows;
        position += rows;
        if (position >= limit) {
            epoch++;
            position = 0;
            perm = permutation(seed, epoch, n);
        }
        return rows;
    }

    /**
     * Data-set indices of the rows of the last batch, in order.
     * @return the indices, one per row
     */
    public int[] lastBatchIndices() { return java.util.Arrays.copyOf(lastIndices, lastCount); }

    /**
     * The permutation used for the current epoch (a copy).
     * @return the permutation
     */
    public int[] currentPermutation() { return perm.clone(); }

    /**
     * The state as {format, seed, epoch, position, n, batchSize, dropLast}: enough, with the same data set,
     * to continue exactly where this batcher is (the permutation is regenerated from seed and epoch).
     * @return the state
     */
    public long[] state() {
        return new long[] {STATE_FORMAT, seed, epoch, position, n, batchSize, dropLast ? 1 : 0};
    }

    /**
     * Restores a {@link #state()} taken from a batcher with the same seed, data size, batch size and dropLast.
     * @param state a state from {@link #state()}
     */
    public void restore(long[] state) {
        Objects.requireNonNull(state, "state");
        if (state.length != STATE_LENGTH || state[0] != STATE_FORMAT)
            throw new IllegalArgumentException("Batcher state: expected " + STATE_LENGTH + " values of format " + STATE_FORMAT
                    + ", found " + state.length + " values" + (state.length > 0 ? " of format " + state[0] : ""));
        if (state[1] != seed || state[4] != n || state[5] != batchSize || state[6] != (dropLast ? 1 : 0))
            throw new IllegalArgumentException("Batcher state is for seed " + state[1] + ", n " + state[4] + ", batch size "
                    + state[5] + ", dropLast " + (state[6] != 0) + "; this batcher has seed " + seed + ", n " + n
                    + ", batch size " + batchSize + ", dropLast " + dropLast);
        long e = state[2];
        long pos = state[3];
        if (e < 0 || pos < 0 || pos >= limit || pos % batchSize != 0)
            throw new IllegalArgumentException("Batcher state: bad epoch " + e + " / position " + pos
                    + " (position must be a multiple of " + batchSize + " below " + limit + ")");
        this.epoch = e;
        this.position = (int) pos;
        this.perm = permutation(seed, e, n);
        this.lastCount = 0;
    }

    /**
     * The permutation of 0..n-1 used for {@code epoch} with {@code seed}.
     * @param seed the seed
     * @param epoch the epoch
     * @param n the number of examples
     * @return the permutation
     */
    public static int[] permutation(long seed, long epoch, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        SplittableRandom rng = new SplittableRandom(mix64(mix64(seed) + 0x9E3779B97F4A7C15L * (epoch + 1)));
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** Mixed into the seed of {@link #bootstrap} so that it does not share a stream with {@link #permutation}. */
    private static final long BOOTSTRAP_SALT = 0x6A09E667F3BCC909L;

    /**
     * n indices drawn uniformly from 0..n-1 with replacement (a bootstrap sample of the data set) for
     * {@code epoch} with {@code seed}; a pure function of its arguments, like {@link #permutation}.
     * @param seed the seed
     * @param epoch the epoch
     * @param n the number of examples
     * @return n indices
     */
    public static int[] bootstrap(long seed, long epoch, int n) {
        int[] p = new int[n];
        SplittableRandom rng = new SplittableRandom(mix64(mix64(seed ^ BOOTSTRAP_SALT) + 0x9E3779B97F4A7C15L * (epoch + 1)));
        for (int i = 0; i < n; i++) p[i] = rng.nextInt(n);
        return p;
    }

    /** SplitMix64 finaliser. */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
