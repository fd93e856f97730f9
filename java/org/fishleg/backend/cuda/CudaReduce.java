package org.fishleg.backend.cuda;

import static org.fishleg.backend.cuda.CudaLauncher.addr;

import org.fishleg.backend.Tensor;

/**
 * Launches of the kernels in cuda/reduce.cuh (the twin of CpuReduce): two-pass deterministic reductions
 * into the backend's partial-sum scratch, then the ops that consume 1x1 device scalars. Arguments arrive
 * checked by {@link org.fishleg.backend.AbstractBackend}.
 */
final class CudaReduce {
    /** Operations of fl_reduce_partial. */
    static final int RED_DOT = 0, RED_SUMSQ = 1, RED_NONFINITE = 2, RED_SQDIFF = 3;

    private final CudaLauncher k;
    private final DeviceBuffer partials;

    CudaReduce(CudaLauncher k, DeviceBuffer partials) {
        this.k = k;
        this.partials = partials;
    }

    private void reduce(int op, int n, long x, long y, double scale, long out) {
        int blocks = Kernels.reduceBlocks(n);
        k.blocks("fl_reduce_partial", blocks, Kernels.THREADS, op, n, x, y, partials.address());
        k.blocks("fl_reduce_final", 1, Kernels.THREADS, blocks, partials.address(), scale, out);
    }

    void dot(Tensor x, DeviceBuffer sx, Tensor y, DeviceBuffer sy, Tensor out, DeviceBuffer so) {
        reduce(RED_DOT, x.size(), addr(sx, x), addr(sy, y), 1.0, addr(so, out));
    }

    void sumSquares(Tensor x, DeviceBuffer sx, Tensor out, DeviceBuffer so) {
        reduce(RED_SUMSQ, x.size(), addr(sx, x), 0L, 1.0, addr(so, out));
    }

    void countNonFinite(Tensor x, DeviceBuffer sx, Tensor out, DeviceBuffer so) {
        reduce(RED_NONFINITE, x.size(), addr(sx, x), 0L, 1.0, addr(so, out));
    }

    void scaleByScalar(Tensor x, DeviceBuffer sx, Tensor s, DeviceBuffer ss, float power, float alpha, Tensor y, DeviceBuffer sy) {
        if (y.size() == 0) return;
        k.grid("fl_scale_by_scalar", y.size(), y.size(), addr(sx, x), addr(ss, s), power, alpha, addr(sy, y));
    }

    void scalarMulAdd(float alpha, Tensor a, DeviceBuffer sa, Tensor b, DeviceBuffer sb, float beta, Tensor out, DeviceBuffer so) {
        k.blocks("fl_scalar_mul_add", 1, 32, alpha, addr(sa, a), addr(sb, b), beta, addr(so, out));
    }
}
