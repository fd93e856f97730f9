package org.fishleg.backend.cpu;

/**
 * How the CPU backend's loops use the cores (the CPU twin of cuda/common.cuh's launch conventions):
 * loops over more than {@link #PARALLEL_THRESHOLD} elements are split into cache-line aligned chunks on
 * the {@link CpuPool}; reductions accumulate in double over fixed blocks combined in block order, so
 * their results do not depend on the thread count.
 */
final class CpuParallel {

    /** Loops over more elements than this are split over the worker threads. */
    static final int PARALLEL_THRESHOLD = 32768;
    /** Smallest chunk handed to one thread (a multiple of 16 floats = one cache line). */
    static final int MIN_CHUNK = 16384;
    /** Fixed block of a reduction: each block is summed in double, blocks are combined in order. */
    static final int REDUCE_BLOCK = 8192;

    /** The body of a loop over [lo, hi). */
    interface Range { void run(int lo, int hi); }

    /** The body of a reduction block over [lo, hi), returning its sum. */
    interface Block { double run(int lo, int hi); }

    final CpuPool pool;
    /** Total parallelism of {@link #pool}. */
    final int threads;

    CpuParallel(CpuPool pool) {
        this.pool = pool;
        this.threads = pool.threads;
    }

    /** Runs body over [0, n), split into cache-line aligned chunks over the pool when n is large. */
    void forRange(int n, Range body) {
        if (n <= PARALLEL_THRESHOLD || pool.threads == 1) {
            if (n > 0) body.run(0, n);
            return;
        }
        int chunks = Math.min(pool.threads * 4, (n + MIN_CHUNK - 1) / MIN_CHUNK);
        long per = (((long) n + chunks - 1) / chunks + 15) & ~15L;
        int nc = (int) ((n + per - 1) / per);
        pool.run(nc, i -> {
            int lo = (int) (i * per);
            int hi = (int) Math.min(n, lo + per);
            body.run(lo, hi);
        });
    }

    /** Runs body over rows [0, rows) split into row chunks, parallel when rows*cols is large. */
    void forRows(int rows, int cols, Range body) {
        long n = (long) rows * cols;
        if (n <= PARALLEL_THRESHOLD || pool.threads == 1 || rows < 2) {
            if (rows > 0) body.run(0, rows);
            return;
        }
        int chunks = (int) Math.min(Math.min(pool.threads * 4L, rows), (n + MIN_CHUNK - 1) / MIN_CHUNK);
        int per = (rows + chunks - 1) / chunks;
        int nc = (rows + per - 1) / per;
        pool.run(nc, i -> body.run(i * per, Math.min(rows, (i + 1) * per)));
    }

    /** Sum over fixed blocks of the range [0, n) (block size {@code block}), in double, combined in order. */
    double reduce(int n, int block, Block body) {
        return reduce(n, block, n, body);
    }

    /**
     * Sum over fixed blocks of [0, n) of size {@code block}, each summed in double by {@code body}, combined
     * in block order (so the result does not depend on the thread count); parallel when {@code work}
     * (elements touched) is large.
     */
    double reduce(int n, int block, long work, Block body) {
        if (n <= 0) return 0.0;
        int nb = (int) (((long) n + block - 1) / block);
        if (nb == 1) return body.run(0, n);
        double[] part = new double[nb];
        if (work <= PARALLEL_THRESHOLD || pool.threads == 1) {
            for (int b = 0; b < nb; b++) part[b] = body.run(b * block, (int) Math.min(n, (long) (b + 1) * block));
        } else {
            pool.run(nb, b -> part[b] = body.run(b * block, (int) Math.min(n, (long) (b + 1) * block)));
        }
        double s = 0.0;
        for (double p : part) s += p;
        return s;
    }

    /** Rows per reduction block for row-wise reductions over rows of {@code cols} elements. */
    static int rowBlock(int cols) { return Math.max(1, REDUCE_BLOCK / Math.max(1, cols)); }
}
