package org.fishleg.backend.cuda;

import static org.fishleg.backend.cuda.CudaLauncher.addr;

import org.fishleg.backend.Tensor;

/**
 * Launches of the kernels in cuda/optim.cuh (the twin of CpuOptim): fused SGD-momentum and Adam updates.
 * Arguments arrive checked by {@link org.fishleg.backend.AbstractBackend}.
 */
final class CudaOptim {
    private final CudaLauncher k;

    CudaOptim(CudaLauncher k) { this.k = k; }

    void momentumStep(Tensor p, DeviceBuffer sp, Tensor g, DeviceBuffer sg, Tensor m, DeviceBuffer sm, float lr, float mu,
                      float dampening, float wd, boolean nesterov) {
        if (p.size() == 0) return;
        k.grid("fl_momentum_step", p.size(), p.size(), addr(sp, p), addr(sg, g), addr(sm, m), lr, mu, dampening, wd, nesterov ? 1 : 0);
    }

    void adamStep(Tensor p, DeviceBuffer sp, Tensor g, DeviceBuffer sg, Tensor m, DeviceBuffer sm, Tensor v, DeviceBuffer sv,
                  float lr, float b1, float b2, float eps, float l2, float decoupledWd, float bc1, float bc2) {
        if (p.size() == 0) return;
        k.grid("fl_adam_step", p.size(), p.size(), addr(sp, p), addr(sg, g), addr(sm, m), addr(sv, v),
                lr, b1, b2, eps, l2, decoupledWd, 1f / bc1, 1f / bc2);
    }

    void adamStepAt(Tensor p, DeviceBuffer sp, Tensor g, DeviceBuffer sg, Tensor m, DeviceBuffer sm, Tensor v, DeviceBuffer sv,
                    float lr, float b1, float b2, float eps, float l2, float decoupledWd, Tensor step, DeviceBuffer ss) {
        if (p.size() == 0) return;
        k.grid("fl_adam_step_at", p.size(), p.size(), addr(sp, p), addr(sg, g), addr(sm, m), addr(sv, v),
                lr, b1, b2, eps, l2, decoupledWd, addr(ss, step));
    }
}
