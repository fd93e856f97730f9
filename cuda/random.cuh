// Philox random fills. The stream state lives in DEVICE memory: state[0] = seed, state[1] =
// offset (128-bit counters consumed). The fill kernels read it, fl_rng_advance bumps the offset,
// so a captured CUDA graph draws fresh numbers on every replay. Numbers equal
// org.fishleg.backend.Philox / CpuBackend.randUniform / randNormal.
#pragma once
#include "common.cuh"

// Element i: counter (offset + i / 4), word i % 4, (w >>> 8) * 2^-24. One thread per counter.
extern "C" __global__ void fl_rand_uniform(int n, const unsigned long long* state, float* out) {
    const unsigned long long seed = state[0], offset = state[1];
    const long long counters = ((long long)n + 3) / 4;
    FL_FOR_EACH(c, counters) {
        const FlPhilox4 b = fl_philox(seed, offset + (unsigned long long)c);
        const long long base = c * 4;
#pragma unroll
        for (int w = 0; w < 4; ++w)
            if (base + w < n) out[base + w] = fl_uniform(b.w[w]);
    }
}

// Element i: counter (offset + i / 2), words 2(i%2), 2(i%2)+1, Box-Muller; out = mean + std * z.
extern "C" __global__ void fl_rand_normal(int n, const unsigned long long* state, float mean, float stddev, float* out) {
    const unsigned long long seed = state[0], offset = state[1];
    const long long counters = ((long long)n + 1) / 2;
    FL_FOR_EACH(c, counters) {
        const FlPhilox4 b = fl_philox(seed, offset + (unsigned long long)c);
        const long long base = c * 2;
        out[base] = mean + stddev * fl_normal(b.w[0], b.w[1]);
        if (base + 1 < n) out[base + 1] = mean + stddev * fl_normal(b.w[2], b.w[3]);
    }
}

extern "C" __global__ void fl_rng_advance(unsigned long long* state, unsigned long long counters) {
    if (blockIdx.x == 0 && threadIdx.x == 0) state[1] += counters;
}
