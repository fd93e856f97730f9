// Shared helpers for the FishLeg kernels: launch geometry conventions, deterministic block
// reductions (fixed shuffle/shared-memory order, no float atomics) and Philox4x32-10.
//
// Conventions (the host side in java/org/fishleg/backend/cuda/CudaBackend.java relies on them):
//  * every elementwise kernel uses a grid-stride loop, so any grid size is correct;
//  * block size is FL_THREADS (256) unless a kernel says otherwise;
//  * tensors are contiguous row-major float32; views arrive as already-offset pointers;
//  * an output may alias an input of the same shape, so no pointer is declared __restrict__.
#pragma once

#define FL_THREADS 256
#define FL_WARPS (FL_THREADS / 32)
#define FL_FULL_MASK 0xffffffffu

// Grid-stride loop over [0, n) with a 64-bit index (n itself fits in int).
#define FL_FOR_EACH(i, n)                                                               \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
         i += (long long)gridDim.x * blockDim.x)

__device__ __forceinline__ double fl_warp_sum(double v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(FL_FULL_MASK, v, off);
    return v;  // valid in lane 0
}

__device__ __forceinline__ float fl_warp_sum_all(float v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(FL_FULL_MASK, v, off);
    return v;  // identical in every lane (butterfly order is fixed, so deterministic)
}

__device__ __forceinline__ float fl_warp_max_all(float v) {
    for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(FL_FULL_MASK, v, off));
    return v;
}

// Sum of one double per thread over a block of FL_THREADS threads; result valid in thread 0.
// Fixed order: warp shuffle tree, then warp 0 folds the FL_WARPS warp sums with the same tree.
__device__ __forceinline__ double fl_block_sum(double v) {
    __shared__ double warp_sums[FL_WARPS];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = fl_warp_sum(v);
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    double r = 0.0;
    if (warp == 0) {
        r = lane < FL_WARPS ? warp_sums[lane] : 0.0;
        r = fl_warp_sum(r);
    }
    return r;
}

// Scalar math in double, the same formulas as the CPU twin (org.fishleg.backend.cpu.CpuMath), so
// a result rounded to float agrees with the CPU's (no cancellation in 1 - sigmoid, 1 - tanh^2,
// log(1 + e^-|a|)). Only the last double bits of exp/log/tanh may differ between the two.
__device__ __forceinline__ double fl_sigmoid(double a) { return 1.0 / (1.0 + exp(-a)); }

// sigmoid(a) (1 - sigmoid(a)) = e / (1 + e)^2, e = exp(-|a|)
__device__ __forceinline__ double fl_sigmoid_prime(double a) {
    const double e = exp(-fabs(a)), d = 1.0 + e;
    return e / (d * d);
}

// 1 - tanh(a)^2 = 4 e / (1 + e)^2, e = exp(-2|a|)
__device__ __forceinline__ double fl_tanh_prime(double a) {
    const double e = exp(-2.0 * fabs(a)), d = 1.0 + e;
    return 4.0 * e / (d * d);
}

// max(a, 0) + log(1 + e^-|a|); NaN propagates through the log1p term.
__device__ __forceinline__ double fl_softplus(double a) { return fmax(a, 0.0) + log1p(exp(-fabs(a))); }

// ------------------------------------------------------------------ Philox4x32-10
// Same as org.fishleg.backend.Philox: key = (low, high 32 bits of seed),
// counter = (low, high 32 bits of the 64-bit counter, 0, 0).
struct FlPhilox4 { unsigned int w[4]; };

__device__ __forceinline__ FlPhilox4 fl_philox(unsigned long long seed, unsigned long long counter) {
    unsigned int k0 = (unsigned int)seed, k1 = (unsigned int)(seed >> 32);
    unsigned int c0 = (unsigned int)counter, c1 = (unsigned int)(counter >> 32), c2 = 0u, c3 = 0u;
#pragma unroll
    for (int r = 0; r < 10; ++r) {
        const unsigned int hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        const unsigned int hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        const unsigned int n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
        k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
    }
    FlPhilox4 out;
    out.w[0] = c0; out.w[1] = c1; out.w[2] = c2; out.w[3] = c3;
    return out;
}

// (w >>> 8) * 2^-24 in [0, 1)
__device__ __forceinline__ float fl_uniform(unsigned int w) { return (float)(w >> 8) * 5.9604644775390625e-8f; }
// ((w >>> 8) + 1) * 2^-24 in (0, 1]
__device__ __forceinline__ float fl_uniform_open0(unsigned int w) { return (float)((w >> 8) + 1u) * 5.9604644775390625e-8f; }
// Box-Muller in double, rounded once to float, as Philox.normal does on the JVM
// ((float)(sqrt(-2 ln u1) * cos(2 pi u2))). cospi(2 u2) is cos(2 pi u2) without the rounding of
// 2 pi and without cos()'s large-argument slow path (which needs local memory); both double
// results agree far below float resolution, so the rounded floats are almost always the JVM's. Not
// always: at u2 = 1/4 and 3/4 cospi is exactly 0 where the JVM has ~1e-16 (a different tiny float),
// and near other zero crossings a rounding can flip; the CPU/CUDA tests compare normals with 1e-5.
__device__ __forceinline__ float fl_normal(unsigned int w0, unsigned int w1) {
    const double u1 = (double)fl_uniform_open0(w0), u2 = (double)fl_uniform(w1);
    return (float)(sqrt(-2.0 * log(u1)) * cospi(2.0 * u2));
}
