package org.fishleg.backend.cpu;

import static org.fishleg.backend.cpu.CpuStorage.buf;
import static org.fishleg.backend.cpu.CpuStorage.off;

import java.nio.FloatBuffer;
import org.fishleg.backend.Tensor;

/**
 * The CPU twins of cuda/optim.cuh: the fused SGD-momentum and Adam updates, one pass over the parameters.
 * Arguments arrive checked by {@link org.fishleg.backend.AbstractBackend}.
 */
final class CpuOptim {
    private final CpuParallel par;

    CpuOptim(CpuParallel par) { this.par = par; }

    void momentumStep(Tensor p, CpuStorage sp, Tensor g, CpuStorage sg, Tensor m, CpuStorage sm,
                      float lr, float mu, float dampening, float wd, boolean nesterov) {
        FloatBuffer pb = buf(sp), gb = buf(sg), mb = buf(sm);
        int po = off(p), go = off(g), mo = off(m);
        float damp = 1f - dampening;
        par.forRange(p.size(), (lo, hi) -> momentumLoop(pb, po, gb, go, mb, mo, lr, mu, damp, wd, nesterov, lo, hi));
    }

    private static void momentumLoop(FloatBuffer p, int po, FloatBuffer g, int go, FloatBuffer m, int mo,
                                     float lr, float mu, float damp, float wd, boolean nesterov, int lo, int hi) {
        for (int i = lo; i < hi; i++) {
            float pv = p.get(po + i);
            float gv = g.get(go + i) + wd * pv;
            float mv = mu * m.get(mo + i) + damp * gv;
            m.put(mo + i, mv);
            p.put(po + i, pv - lr * (nesterov ? gv + mu * mv : mv));
        }
    }

    void adamStep(Tensor p, CpuStorage sp, Tensor g, CpuStorage sg, Tensor m, CpuStorage sm, Tensor v, CpuStorage sv,
                  float lr, float b1, float b2, float eps, float l2, float decoupledWd, float bc1, float bc2) {
        FloatBuffer pb = buf(sp), gb = buf(sg), mb = buf(sm), vb = buf(sv);
        int po = off(p), go = off(g), mo = off(m), vo = off(v);
        float ib1 = 1f / bc1, ib2 = 1f / bc2;
        par.forRange(p.size(), (lo, hi) -> adamLoop(pb, po, gb, go, mb, mo, vb, vo, lr, b1, b2, eps, l2, decoupledWd, ib1, ib2, lo, hi));
    }

    private static void adamLoop(FloatBuffer p, int po, FloatBuffer g, int go, FloatBuffer m, int mo, FloatBuffer v, int vo,
                                 float lr, float b1, float b2, float eps, float l2, float wd, float ib1, float ib2, int lo, int hi) {
        float c1 = 1f - b1, c2 = 1f - b2;
        for (int i = lo; i < hi; i++) {
            float pv = p.get(po + i);
            float gv = g.get(go + i) + l2 * pv;
            float mv = b1 * m.get(mo + i) + c1 * gv;
            float vv = b2 * v.get(vo + i) + c2 * gv * gv;
            m.put(mo + i, mv);
            v.put(vo + i, vv);
            float step = (mv * ib1) / ((float) Math.sqrt(vv * ib2) + eps) + wd * pv;
            p.put(po + i, pv - lr * step);
        }
    }
}
