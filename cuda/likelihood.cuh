// Row-wise likelihood kernels, one warp per row (grid-stride over rows by warp), so softmax
// rows need no shared memory and every row's sums have a fixed shuffle order. Math in double
// with the CPU twin's formulas (CpuBackend.nll / nllGrad / outputHessianVec / sampleTargets).
// Kind codes = org.fishleg.backend.LikelihoodKind ordinals. sigma is a 1x1 device scalar read
// only for GAUSSIAN (may be a null pointer otherwise).
#pragma once
#include "common.cuh"

#define FL_LIK_BERNOULLI 0
#define FL_LIK_GAUSSIAN 1
#define FL_LIK_SOFTMAX 2

#define FL_WARP_ID() (((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5)
#define FL_WARP_COUNT() (((long long)gridDim.x * blockDim.x) >> 5)
#define FL_FOR_EACH_ROW(r, rows) for (long long r = FL_WARP_ID(); r < (long long)(rows); r += FL_WARP_COUNT())

__device__ __forceinline__ double fl_warp_dsum_all(double v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(FL_FULL_MASK, v, off);
    return v;
}

// max over the row as float (like the CPU's rowMax), identical in every lane.
__device__ __forceinline__ float fl_row_max(const float* fr, int cols, int lane) {
    float mx = -INFINITY;
    for (int j = lane; j < cols; j += 32) mx = fmaxf(mx, fr[j]);
    return fl_warp_max_all(mx);
}

// Pass 1 of nll: partials[block] = sum over this block's rows of the row NLL (double).
// Pass 2 is fl_reduce_final with scale 1/rows.
extern "C" __global__ void fl_nll_partial(int kind, int rows, int cols, const float* f, const float* y,
                                          const float* sigma, double* partials) {
    __shared__ double warp_acc[FL_WARPS];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    double acc = 0.0;  // meaningful in lane 0
    FL_FOR_EACH_ROW(r, rows) {
        const float* fr = f + r * cols;
        const float* yr = y + r * cols;
        double row = 0.0;
        if (kind == FL_LIK_BERNOULLI) {
            for (int j = lane; j < cols; j += 32) { const double fv = fr[j]; row += fl_softplus(fv) - (double)yr[j] * fv; }
            row = fl_warp_sum(row);
        } else if (kind == FL_LIK_GAUSSIAN) {
            const double s = sigma[0];
            for (int j = lane; j < cols; j += 32) { const double d = (double)yr[j] - (double)fr[j]; row += d * d; }
            row = fl_warp_sum(row) * (1.0 / (2.0 * s * s)) + (double)cols * (log(s) + 0.5 * log(2.0 * 3.141592653589793));
        } else {
            const float mx = fl_row_max(fr, cols, lane);
            double se = 0.0, yf = 0.0;
            for (int j = lane; j < cols; j += 32) {
                const float fv = fr[j];
                se += exp((double)fv - (double)mx);
                yf += (double)yr[j] * (double)fv;
            }
            se = fl_warp_sum(se);
            yf = fl_warp_sum(yf);
            row = (double)mx + log(se) - yf;
        }
        acc += row;
    }
    if (lane == 0) warp_acc[warp] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
        double t = 0.0;
        for (int w = 0; w < FL_WARPS; ++w) t += warp_acc[w];
        partials[blockIdx.x] = t;
    }
}

// grad = scale * dNLL_row/df: sigmoid(f) - y; (f - y) / sigma^2; softmax(f) - y.
extern "C" __global__ void fl_nll_grad(int kind, int rows, int cols, const float* f, const float* y,
                                       const float* sigma, float scale, float* grad) {
    const int lane = threadIdx.x & 31;
    FL_FOR_EACH_ROW(r, rows) {
        const float* fr = f + r * cols;
        const float* yr = y + r * cols;
        float* gr = grad + r * cols;
        if (kind == FL_LIK_BERNOULLI) {
            for (int j = lane; j < cols; j += 32) gr[j] = (float)((double)scale * (fl_sigmoid((double)fr[j]) - (double)yr[j]));
        } else if (kind == FL_LIK_GAUSSIAN) {
            const double s = sigma[0], c = (double)scale / (s * s);
            for (int j = lane; j < cols; j += 32) gr[j] = (float)(c * ((double)fr[j] - (double)yr[j]));
        } else {
            const float mx = fl_row_max(fr, cols, lane);
            double se = 0.0;
            for (int j = lane; j < cols; j += 32) se += exp((double)fr[j] - (double)mx);
            const double inv = 1.0 / fl_warp_dsum_all(se);
            for (int j = lane; j < cols; j += 32) {
                const double p = exp((double)fr[j] - (double)mx) * inv;
                gr[j] = (float)((double)scale * (p - (double)yr[j]));
            }
        }
    }
}

// out = scale * H(f) v: p(1-p) v; v / sigma^2; p o v - p (p^T v) = p (v - p^T v).
extern "C" __global__ void fl_output_hessian_vec(int kind, int rows, int cols, const float* f, const float* sigma,
                                                 const float* v, float scale, float* out) {
    const int lane = threadIdx.x & 31;
    FL_FOR_EACH_ROW(r, rows) {
        const float* fr = f + r * cols;
        const float* vr = v + r * cols;
        float* orow = out + r * cols;
        if (kind == FL_LIK_BERNOULLI) {
            for (int j = lane; j < cols; j += 32)
                orow[j] = (float)((double)scale * fl_sigmoid_prime((double)fr[j]) * (double)vr[j]);
        } else if (kind == FL_LIK_GAUSSIAN) {
            const double s = sigma[0];
            const float c = (float)((double)scale / (s * s));
            for (int j = lane; j < cols; j += 32) orow[j] = c * vr[j];
        } else {
            const float mx = fl_row_max(fr, cols, lane);
            double se = 0.0, pv = 0.0;
            for (int j = lane; j < cols; j += 32) {
                const double e = exp((double)fr[j] - (double)mx);
                se += e;
                pv += e * (double)vr[j];
            }
            const double inv = 1.0 / fl_warp_dsum_all(se);
            pv = fl_warp_dsum_all(pv) * inv;
            for (int j = lane; j < cols; j += 32) {
                const double p = exp((double)fr[j] - (double)mx) * inv;
                orow[j] = (float)((double)scale * p * ((double)vr[j] - pv));
            }
        }
    }
}

// y ~ p(y | f) from given noise: [noise < sigmoid(f)]; f + sigma * noise; softmax: one-hot of
// the first class whose cumulative (unnormalised) probability exceeds noise[row, 0] * sum, the
// last class if rounding leaves none. The softmax scan runs in lane 0 in the CPU twin's order.
extern "C" __global__ void fl_sample_targets(int kind, int rows, int cols, const float* f, const float* sigma,
                                             const float* noise, float* y) {
    const int lane = threadIdx.x & 31;
    FL_FOR_EACH_ROW(r, rows) {
        const float* fr = f + r * cols;
        const float* nr = noise + r * cols;
        float* yr = y + r * cols;
        if (kind == FL_LIK_BERNOULLI) {
            for (int j = lane; j < cols; j += 32) yr[j] = nr[j] < (float)fl_sigmoid((double)fr[j]) ? 1.0f : 0.0f;
        } else if (kind == FL_LIK_GAUSSIAN) {
            const float s = sigma[0];
            for (int j = lane; j < cols; j += 32) yr[j] = fr[j] + s * nr[j];
        } else {
            int pick = cols - 1;
            if (lane == 0) {
                float mx = -INFINITY;
                for (int j = 0; j < cols; ++j) mx = fmaxf(mx, fr[j]);
                double se = 0.0;
                for (int j = 0; j < cols; ++j) se += exp((double)fr[j] - (double)mx);
                const double target = (double)nr[0] * se;
                double c = 0.0;
                for (int j = 0; j < cols; ++j) {
                    c += exp((double)fr[j] - (double)mx);
                    if (c > target) { pick = j; break; }
                }
            }
            pick = __shfl_sync(FL_FULL_MASK, pick, 0);
            for (int j = lane; j < cols; j += 32) yr[j] = j == pick ? 1.0f : 0.0f;
        }
    }
}
