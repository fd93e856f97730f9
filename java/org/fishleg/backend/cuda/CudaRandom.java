package org.fishleg.backend.cuda;

import static org.fishleg.backend.cuda.CudaLauncher.addr;

import org.fishleg.backend.Tensor;

/**
 * Launches of the kernels in cuda/random.cuh (the twin of CpuRandom): Philox fills that read the stream
 * state (seed, offset) from device memory, then a one-thread kernel that advances the offset, so a
 * captured graph draws fresh numbers on every replay.
 */
final class CudaRandom {
    private final CudaLauncher k;
    private final DeviceBuffer rngState;

    CudaRandom(CudaLauncher k, DeviceBuffer rngState) {
        this.k = k;
        this.rngState = rngState;
    }

    void uniform(Tensor t, DeviceBuffer s) {
        int n = t.size();
        if (n == 0) return;
        long counters = ((long) n + 3) / 4;
        k.grid("fl_rand_uniform", counters, n, rngState.address(), addr(s, t));
        k.blocks("fl_rng_advance", 1, 32, rngState.address(), counters);
    }

    void normal(Tensor t, DeviceBuffer s, float mean, float std) {
        int n = t.size();
        if (n == 0) return;
        long counters = ((long) n + 1) / 2;
        k.grid("fl_rand_normal", counters, n, rngState.address(), mean, std, addr(s, t));
        k.blocks("fl_rng_advance", 1, 32, rngState.address(), counters);
    }
}
