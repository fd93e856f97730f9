// Deterministic reductions to a 1x1 device scalar: two passes, no atomics.
// Pass 1 (fl_reduce_partial): a grid whose size depends only on n (chosen on the host) sums
// grid-stride terms per thread in double, then per block in a fixed tree -> partials[block].
// Pass 2 (fl_reduce_final): one block folds the partials in a fixed order and writes
// out[0] = (float)(scale * sum). Same input, same n -> bitwise the same result on every run.
// CPU twins: CpuBackend.dot / sumSquares / countNonFinite / gaussianSigmaGrad; scaleByScalar,
// scalarMulAdd consume the scalar on the device.
#pragma once
#include "common.cuh"

#define FL_RED_DOT 0
#define FL_RED_SUMSQ 1
#define FL_RED_NONFINITE 2
#define FL_RED_SQDIFF 3  // sum (y - x)^2, for gaussianSigmaGrad (finished by fl_sigma_grad_final)

extern "C" __global__ void fl_reduce_partial(int op, int n, const float* x, const float* y, double* partials) {
    double acc = 0.0;
    if (op == FL_RED_DOT) {
        FL_FOR_EACH(i, n) acc += (double)x[i] * (double)y[i];
    } else if (op == FL_RED_SUMSQ) {
        FL_FOR_EACH(i, n) { const double v = x[i]; acc += v * v; }
    } else if (op == FL_RED_NONFINITE) {
        FL_FOR_EACH(i, n) acc += isfinite(x[i]) ? 0.0 : 1.0;
    } else {
        FL_FOR_EACH(i, n) { const double d = (double)y[i] - (double)x[i]; acc += d * d; }
    }
    const double b = fl_block_sum(acc);
    if (threadIdx.x == 0) partials[blockIdx.x] = b;
}

extern "C" __global__ void fl_reduce_final(int nparts, const double* partials, double scale, float* out) {
    double acc = 0.0;
    for (int i = threadIdx.x; i < nparts; i += blockDim.x) acc += partials[i];
    const double b = fl_block_sum(acc);
    if (threadIdx.x == 0) out[0] = (float)(scale * b);
}

// gaussianSigmaGrad: out = scale * (n / sigma - sum (y-f)^2 / sigma^3), sum from the partials.
extern "C" __global__ void fl_sigma_grad_final(int nparts, const double* partials, int n, const float* sigma,
                                               float scale, float* out) {
    double acc = 0.0;
    for (int i = threadIdx.x; i < nparts; i += blockDim.x) acc += partials[i];
    const double sq = fl_block_sum(acc);
    if (threadIdx.x == 0) {
        const double s = sigma[0];
        out[0] = (float)((double)scale * ((double)n / s - sq / (s * s * s)));
    }
}

// y = alpha * s^power * x; y = 0 when s^power (rounded to float) is not finite.
extern "C" __global__ void fl_scale_by_scalar(int n, const float* x, const float* s, float power, float alpha, float* y) {
    const float sp = (float)pow((double)s[0], (double)power);
    const bool ok = isfinite(sp);
    const float k = alpha * sp;
    FL_FOR_EACH(i, n) y[i] = ok ? k * x[i] : 0.0f;
}

// out = a * b * alpha + beta * out (beta == 0 ignores out), in double. One thread.
extern "C" __global__ void fl_scalar_mul_add(float alpha, const float* a, const float* b, float beta, float* out) {
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        double v = (double)a[0] * (double)b[0] * (double)alpha;
        if (beta != 0.0f) v += (double)beta * (double)out[0];
        out[0] = (float)v;
    }
}
