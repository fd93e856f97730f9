package org.fishleg.backend.cpu;

import static org.fishleg.backend.cpu.CpuStorage.buf;
import static org.fishleg.backend.cpu.CpuStorage.off;

import java.nio.FloatBuffer;
import org.fishleg.backend.Philox;
import org.fishleg.backend.Tensor;

/**
 * The CPU twins of cuda/random.cuh: uniform and normal fills from the counter-based Philox4x32-10 stream
 * ({@link Philox}), split into chunks of counters over the pool, so the numbers do not depend on the
 * thread count. The stream state (seed, offset) is kept by {@link CpuBackend}.
 */
final class CpuRandom {
    /** Philox counters per parallel chunk of a random fill. */
    private static final int RNG_CHUNK_COUNTERS = 4096;

    private final CpuParallel par;

    CpuRandom(CpuParallel par) { this.par = par; }

    /** Fills t with uniforms from counters base.. and returns the counters used. */
    long uniform(Tensor t, CpuStorage s, long sd, long base) {
        int n = t.size();
        long counters = ((long) n + 3) / 4;
        FloatBuffer b = buf(s);
        int o = off(t);
        int chunks = (int) ((counters + RNG_CHUNK_COUNTERS - 1) / RNG_CHUNK_COUNTERS);
        CpuPool.Task task = c -> uniformChunk(b, o, n, sd, base, (long) c * RNG_CHUNK_COUNTERS,
                Math.min(counters, (long) (c + 1) * RNG_CHUNK_COUNTERS));
        if (n <= CpuParallel.PARALLEL_THRESHOLD) for (int c = 0; c < chunks; c++) task.run(c);
        else par.pool.run(chunks, task);
        return counters;
    }

    private static void uniformChunk(FloatBuffer b, int o, int n, long seed, long base, long k0, long k1) {
        int[] w = new int[4];
        for (long k = k0; k < k1; k++) {
            Philox.block(seed, base + k, w);
            int i = (int) (4 * k);
            int lim = Math.min(4, n - i);
            for (int q = 0; q < lim; q++) b.put(o + i + q, Philox.uniform(w[q]));
        }
    }

    /** Fills t with mean + std * normal draws from counters base.. and returns the counters used. */
    long normal(Tensor t, CpuStorage s, long sd, long base, float mean, float std) {
        int n = t.size();
        long counters = ((long) n + 1) / 2;
        FloatBuffer b = buf(s);
        int o = off(t);
        int chunks = (int) ((counters + RNG_CHUNK_COUNTERS - 1) / RNG_CHUNK_COUNTERS);
        CpuPool.Task task = c -> normalChunk(b, o, n, sd, base, (long) c * RNG_CHUNK_COUNTERS,
                Math.min(counters, (long) (c + 1) * RNG_CHUNK_COUNTERS), mean, std);
        if (n <= CpuParallel.PARALLEL_THRESHOLD) for (int c = 0; c < chunks; c++) task.run(c);
        else par.pool.run(chunks, task);
        return counters;
    }

    private static void normalChunk(FloatBuffer b, int o, int n, long seed, long base, long k0, long k1, float mean, float std) {
        int[] w = new int[4];
        for (long k = k0; k < k1; k++) {
            Philox.block(seed, base + k, w);
            int i = (int) (2 * k);
            b.put(o + i, mean + std * Philox.normal(w[0], w[1]));
            if (i + 1 < n) b.put(o + i + 1, mean + std * Philox.normal(w[2], w[3]));
        }
    }
}
