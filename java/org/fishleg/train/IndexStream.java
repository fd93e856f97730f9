package org.fishleg.train;

import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.data.Batcher;

/**
 * A seeded stream of example indices over n examples, epoch by epoch, n indices per epoch. Epoch e's indices
 * depend on the {@link Sampling}: {@link Batcher#permutation}(seed, e, n) for SHUFFLE (the same permutations
 * as the data package's Batcher), {@link Batcher#bootstrap}(seed, e, n) for BOOTSTRAP (n draws with
 * replacement), 0..n-1 in order for FULL. Its whole state is (seed, epoch, position) and the sampling, fixed
 * at construction, so it continues exactly after {@link #restore}.
 *
 * <p>Two ways to consume it: {@link #takeBatch} (fixed-size batches, the remainder of an epoch dropped, for
 * training) and {@link #gather} (a continuous stream crossing epoch boundaries, for auxiliary batches).
 */
public final class IndexStream {
    private final int n;
    private final Sampling sampling;
    private long seed;
    private long epoch;
    private int position;
    private int[] perm;

    /**
     * A SHUFFLE stream.
     * @param n the number of examples
     * @param seed the seed
     */
    public IndexStream(int n, long seed) { this(n, seed, Sampling.SHUFFLE); }

    /**
     * A stream of indices 0..n-1, epoch by epoch, drawn as {@code sampling} says from {@code seed}.
     * @param n the number of examples
     * @param seed the seed
     * @param sampling how the indices are drawn
     */
    public IndexStream(int n, long seed, Sampling sampling) {
        if (n <= 0) throw new IllegalArgumentException("index stream over " + n + " examples");
        if (sampling == null) throw new IllegalArgumentException("index stream without a sampling");
        this.n = n;
        this.sampling = sampling;
        this.seed = seed;
        this.perm = order(0);
    }

    /** Epoch {@code e}'s n indices. */
    private int[] order(long e) {
        switch (sampling) {
            case BOOTSTRAP: return Batcher.bootstrap(seed, e, n);
            case FULL:
                if (perm != null) return perm; // the identity, the same every epoch
                int[] id = new int[n];
                for (int i = 0; i < n; i++) id[i] = i;
                return id;
            default: return Batcher.permutation(seed, e, n);
        }
    }

    /**
     * Number of examples indexed.
     * @return n
     */
    public int n() { return n; }
    /**
     * How indices are drawn.
     * @return the sampling
     */
    public Sampling sampling() { return sampling; }
    /**
     * The seed of every epoch's order.
     * @return the seed
     */
    public long seed() { return seed; }
    /**
     * Completed epochs.
     * @return the completed epochs
     */
    public long epoch() { return epoch; }
    /**
     * Indices already taken in the current epoch.
     * @return the position in the current epoch
     */
    public int position() { return position; }

    /** A fixed-size batch: the permutation array holding it and its start index there. */
    public static final class Batch {
        /** The epoch's index array that holds the batch. */
        public final int[] permutation;
        /** Index in {@link #permutation} of the batch's first element. */
        public final int start;
        /** True when this was the last full batch of its epoch (the stream has moved to the next epoch). */
        public final boolean endsEpoch;
        Batch(int[] permutation, int start, boolean endsEpoch) {
            this.permutation = permutation;
            this.start = start;
            this.endsEpoch = endsEpoch;
        }
    }

    /**
     * The next batch of {@code rows} indices; the epoch rolls over right after its last full batch (the
     * n mod rows indices left over are dropped that epoch). FULL sampling takes all n every time.
     * @param rows the batch size, 1 to n
     * @return the batch
     */
    public Batch takeBatch(int rows) {
        if (rows <= 0 || rows > n)
            throw new IllegalArgumentException("batch of " + rows + " rows from a data set of " + n + " examples");
        if (sampling == Sampling.FULL && rows != n)
            throw new IllegalArgumentException("full sampling takes all " + n + " examples per batch, not " + rows);
        if (position + rows > n) rollOver();
        int[] p = perm;
        int s = position;
        position += rows;
        boolean end = position + rows > n;
        if (end) rollOver();
        return new Batch(p, s, end);
    }

    /**
     * Batches of {@code rows} per epoch with {@link #takeBatch}.
     * @param rows the batch size
     * @return n / rows
     */
    public int batchesPerEpoch(int rows) { return n / rows; }

    /**
     * Fills {@code dst} (any number of rows) with the next dst.rows() examples of {@code src} in stream order,
     * continuing into the next epoch when this one runs out (nothing dropped). With FULL sampling and
     * dst.rows() = n that is the whole data set in index order every time.
     * @param backend the backend that holds both tensors
     * @param src the data, n rows
     * @param dst receives the gathered rows
     */
    public void gather(Backend backend, Tensor src, Tensor dst) {
        if (src.rows() != n)
            throw new IllegalArgumentException("index stream over " + n + " examples used on a tensor of " + src.rows() + " rows");
        int rows = dst.rows();
        int j = 0;
        while (j < rows) {
            if (position >= n) rollOver();
            int c = Math.min(rows - j, n - position);
            backend.gatherRows(src, perm, position, c == rows ? dst : dst.rowRange(j, j + c));
            position += c;
            j += c;
        }
    }

    private void rollOver() {
        epoch++;
        position = 0;
        perm = order(epoch);
    }

    /**
     * {seed, epoch, position, n}.
     * @return the state
     */
    public long[] state() { return new long[] {seed, epoch, position, n}; }

    /**
     * Restores a {@link #state()} of a stream over the same n examples (its seed is adopted). The state does not
     * name the sampling: the caller restores it into a stream of the sampling that wrote it.
     * @param s a state from {@link #state()}
     */
    public void restore(long[] s) {
        if (s == null || s.length != 4) throw new IllegalArgumentException("index stream state must have 4 values");
        if (s[3] != n)
            throw new IllegalArgumentException("index stream state is over " + s[3] + " examples; this stream is over " + n);
        if (s[1] < 0 || s[2] < 0 || s[2] > n) throw new IllegalArgumentException("bad index stream state: epoch " + s[1] + ", position " + s[2]);
        seed = s[0];
        epoch = s[1];
        position = (int) s[2];
        perm = sampling == Sampling.FULL ? perm : order(epoch);
    }
}
