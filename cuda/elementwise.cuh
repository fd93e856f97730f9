// Elementwise kernels: axpby, mul, clamp, addRowVector, columnSums, activations, masks.
// CPU twins: CpuBackend.axpby / mul / clamp / addRowVector / columnSums / activation /
// activationDerivMul / activationSecondDerivMul / triangularMask / setIdentity / the mirror in gram.
#pragma once
#include "common.cuh"

// Activation codes = org.fishleg.backend.Activation ordinals.
#define FL_ACT_IDENTITY 0
#define FL_ACT_RELU 1
#define FL_ACT_SIGMOID 2
#define FL_ACT_TANH 3
#define FL_ACT_SOFTPLUS 4

// y = alpha * x + beta * y, exactly the CPU twin's cases: beta == 0 -> alpha * x (y ignored, even
// NaN); alpha == 0 -> beta * y; else alpha * x + beta * y (no FMA: -fmad=false).
extern "C" __global__ void fl_axpby(int n, float alpha, const float* x, float beta, float* y) {
    if (beta == 0.0f) {
        FL_FOR_EACH(i, n) y[i] = alpha * x[i];
    } else if (alpha == 0.0f) {
        FL_FOR_EACH(i, n) y[i] = beta * y[i];
    } else {
        FL_FOR_EACH(i, n) y[i] = alpha * x[i] + beta * y[i];
    }
}

extern "C" __global__ void fl_mul(int n, const float* x, const float* y, float* out) {
    FL_FOR_EACH(i, n) out[i] = x[i] * y[i];
}

// NaN stays NaN (like Math.max/Math.min on the JVM).
extern "C" __global__ void fl_clamp(int n, float* x, float lo, float hi) {
    FL_FOR_EACH(i, n) {
        const float v = x[i];
        x[i] = v < lo ? lo : (v > hi ? hi : v);
    }
}

extern "C" __global__ void fl_add_row_vector(int rows, int cols, float* m, const float* row) {
    const long long n = (long long)rows * cols;
    FL_FOR_EACH(i, n) m[i] += row[i % cols];
}

// out = alpha * column sums of m + beta * out (beta == 0 ignores out).
// Block (32, 8): 32 columns per block, 8 row lanes each summing every 8th row in double,
// folded in a fixed order: deterministic and coalesced.
extern "C" __global__ void fl_column_sums(int rows, int cols, float alpha, const float* m, float beta, float* out) {
    __shared__ double part[8][33];
    const int col = blockIdx.x * 32 + threadIdx.x;
    double s = 0.0;
    if (col < cols)
        for (int r = threadIdx.y; r < rows; r += 8) s += (double)m[(long long)r * cols + col];
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && col < cols) {
        double t = 0.0;
        for (int k = 0; k < 8; ++k) t += part[k][threadIdx.x];
        double v = (double)alpha * t;
        if (beta != 0.0f) v += (double)beta * (double)out[col];
        out[col] = (float)v;
    }
}

__device__ __forceinline__ float fl_act(int kind, float a) {
    switch (kind) {
        case FL_ACT_RELU: return a > 0.0f ? a : 0.0f;  // NaN -> 0, as the CPU twin and Activation.apply
        case FL_ACT_SIGMOID: return (float)fl_sigmoid((double)a);
        case FL_ACT_TANH: return (float)tanh((double)a);
        case FL_ACT_SOFTPLUS: return (float)fl_softplus((double)a);
        default: return a;
    }
}

// phi'(a) g, in double like the CPU twin; relu passes g where a > 0 (NaN a -> 0).
__device__ __forceinline__ float fl_act_deriv_mul(int kind, float a, float g) {
    switch (kind) {
        case FL_ACT_RELU: return a > 0.0f ? g : 0.0f;
        case FL_ACT_SIGMOID: return (float)(fl_sigmoid_prime((double)a) * (double)g);
        case FL_ACT_TANH: return (float)(fl_tanh_prime((double)a) * (double)g);
        case FL_ACT_SOFTPLUS: return (float)(fl_sigmoid((double)a) * (double)g);
        default: return g;
    }
}

// phi''(a) g: sigmoid'' = -sigmoid' tanh(a/2); tanh'' = -2 tanh tanh'; softplus'' = sigmoid'.
__device__ __forceinline__ float fl_act_second_mul(int kind, float a, float g) {
    const double ad = a;
    switch (kind) {
        case FL_ACT_SIGMOID: return (float)(-fl_sigmoid_prime(ad) * tanh(0.5 * ad) * (double)g);
        case FL_ACT_TANH: return (float)(-2.0 * tanh(ad) * fl_tanh_prime(ad) * (double)g);
        case FL_ACT_SOFTPLUS: return (float)(fl_sigmoid_prime(ad) * (double)g);
        default: return 0.0f;  // identity, relu
    }
}

extern "C" __global__ void fl_activation(int n, int kind, const float* a, float* h) {
    FL_FOR_EACH(i, n) h[i] = fl_act(kind, a[i]);
}

extern "C" __global__ void fl_activation_deriv_mul(int n, int kind, const float* a, const float* g, float* out) {
    FL_FOR_EACH(i, n) out[i] = fl_act_deriv_mul(kind, a[i], g[i]);
}

extern "C" __global__ void fl_activation_second_mul(int n, int kind, const float* a, const float* g, float* out) {
    FL_FOR_EACH(i, n) out[i] = fl_act_second_mul(kind, a[i], g[i]);
}

// Square dim x dim: keep j >= i (upper != 0) or j <= i, zero the rest.
extern "C" __global__ void fl_triangular_mask(int dim, float* t, int upper) {
    const long long n = (long long)dim * dim;
    FL_FOR_EACH(idx, n) {
        const long long i = idx / dim, j = idx % dim;
        const bool keep = upper ? (j >= i) : (j <= i);
        if (!keep) t[idx] = 0.0f;
    }
}

// t[i][j] = t[j][i] for j < i (square, row-major): the upper triangle copied onto the strict lower
// one, so that gram's result is exactly symmetric. Reads only i < j, writes only i > j: no race.
extern "C" __global__ void fl_mirror_upper(int dim, float* t) {
    const long long n = (long long)dim * dim;
    FL_FOR_EACH(idx, n) {
        const long long i = idx / dim, j = idx % dim;
        if (j < i) t[idx] = t[j * dim + i];
    }
}

extern "C" __global__ void fl_set_identity(int dim, float* t, float s) {
    const long long n = (long long)dim * dim;
    FL_FOR_EACH(idx, n) t[idx] = (idx / dim == idx % dim) ? s : 0.0f;
}

// dst[r, :] = src[idx[r], :] (mini-batch gather from a data set in device memory). An index outside
// [0, srcRows) gives a NaN row: a kernel cannot throw (the CPU twin, Backend.gatherRows, throws).
extern "C" __global__ void fl_gather_rows(int rows, int cols, int srcRows, const float* src, const int* idx, float* dst) {
    const long long n = (long long)rows * cols;
    FL_FOR_EACH(i, n) {
        const int r = (int)(i / cols), c = (int)(i % cols);
        const int s = idx[r];
        dst[i] = (s >= 0 && s < srcRows) ? src[(long long)s * cols + c] : __int_as_float(0x7fc00000);
    }
}

// dst[:, col0 .. col0 + srcCols) = src (rows x srcCols), e.g. h into [1, h]; other columns untouched.
extern "C" __global__ void fl_copy_into_columns(int rows, int srcCols, int dstCols, int col0, const float* src, float* dst) {
    const long long n = (long long)rows * srcCols;
    FL_FOR_EACH(i, n) {
        const int r = (int)(i / srcCols), c = (int)(i % srcCols);
        dst[(long long)r * dstCols + col0 + c] = src[i];
    }
}
