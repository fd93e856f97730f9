// Fused optimizer updates. CPU twins: CpuBackend.momentumStep / adamStep.
#pragma once
#include "common.cuh"

// g' = g + wd p; m = mu m + (1 - dampening) g'; p = p - lr (nesterov ? g' + mu m : m).
extern "C" __global__ void fl_momentum_step(int n, float* p, const float* g, float* m, float lr, float mu,
                                            float dampening, float wd, int nesterov) {
    FL_FOR_EACH(i, n) {
        const float pi = p[i];
        const float gi = g[i] + wd * pi;
        const float mi = mu * m[i] + (1.0f - dampening) * gi;
        m[i] = mi;
        p[i] = pi - lr * (nesterov ? gi + mu * mi : mi);
    }
}

// g' = g + l2 p; m = b1 m + (1-b1) g'; v = b2 v + (1-b2) g'^2;
// p = p - lr ((m ib1) / (sqrt(v ib2) + eps) + dwd p) with ib1 = 1/bc1, ib2 = 1/bc2 (float, as the CPU
// twin computes them). Shared body of the two Adam kernels.
__device__ __forceinline__ void fl_adam_body(int n, float* p, const float* g, float* m, float* v, float lr, float b1,
                                             float b2, float eps, float l2, float dwd, float ib1, float ib2) {
    const float c1 = 1.0f - b1, c2 = 1.0f - b2;
    FL_FOR_EACH(i, n) {
        const float pi = p[i];
        const float gi = g[i] + l2 * pi;
        const float mi = b1 * m[i] + c1 * gi;
        const float vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - lr * ((mi * ib1) / (sqrtf(vi * ib2) + eps) + dwd * pi);
    }
}

// Adam with the bias corrections from the host.
extern "C" __global__ void fl_adam_step(int n, float* p, const float* g, float* m, float* v, float lr, float b1,
                                        float b2, float eps, float l2, float dwd, float ib1, float ib2) {
    fl_adam_body(n, p, g, m, v, lr, b1, b2, eps, l2, dwd, ib1, ib2);
}

// Adam with the step number t read from device memory (t[0], a whole number >= 1 stored as float):
// bc = (float) (1 - b^t) in double, as the host computes it for fl_adam_step, so a captured graph that
// also advances t keeps the bias corrections right on every replay.
extern "C" __global__ void fl_adam_step_at(int n, float* p, const float* g, float* m, float* v, float lr, float b1,
                                           float b2, float eps, float l2, float dwd, const float* t) {
    const double tt = (double) t[0];
    const float ib1 = 1.0f / (float) (1.0 - pow((double) b1, tt));
    const float ib2 = 1.0f / (float) (1.0 - pow((double) b2, tt));
    fl_adam_body(n, p, g, m, v, lr, b1, b2, eps, l2, dwd, ib1, ib2);
}
