package org.fishleg.backend.cpu;

import static org.fishleg.backend.cpu.CpuStorage.buf;
import static org.fishleg.backend.cpu.CpuStorage.off;

import java.nio.FloatBuffer;
import org.fishleg.backend.Tensor;

/**
 * The CPU twins of cuda/reduce.cuh: reductions to a 1x1 device scalar (dot, sum of squares, count of
 * non-finite values; in double over fixed blocks, deterministic) and the small ops that consume device
 * scalars (scaleByScalar, scalarMulAdd). Arguments arrive checked by {@link org.fishleg.backend.AbstractBackend}.
 */
final class CpuReduce {
    private final CpuParallel par;
    private final CpuElementwise elementwise;

    CpuReduce(CpuParallel par, CpuElementwise elementwise) {
        this.par = par;
        this.elementwise = elementwise;
    }

    void dot(Tensor x, CpuStorage sx, Tensor y, CpuStorage sy, Tensor out, CpuStorage so) {
        FloatBuffer xb = buf(sx), yb = buf(sy);
        int xo = off(x), yo = off(y);
        double s = par.reduce(x.size(), CpuParallel.REDUCE_BLOCK, (lo, hi) -> dotLoop(xb, xo, yb, yo, lo, hi));
        buf(so).put(off(out), (float) s);
    }

    private static double dotLoop(FloatBuffer x, int xo, FloatBuffer y, int yo, int lo, int hi) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = lo;
        for (; i + 3 < hi; i += 4) {
            s0 += (double) x.get(xo + i) * y.get(yo + i);
            s1 += (double) x.get(xo + i + 1) * y.get(yo + i + 1);
            s2 += (double) x.get(xo + i + 2) * y.get(yo + i + 2);
            s3 += (double) x.get(xo + i + 3) * y.get(yo + i + 3);
        }
        for (; i < hi; i++) s0 += (double) x.get(xo + i) * y.get(yo + i);
        return (s0 + s1) + (s2 + s3);
    }

    void sumSquares(Tensor x, CpuStorage sx, Tensor out, CpuStorage so) {
        FloatBuffer xb = buf(sx);
        int xo = off(x);
        double s = par.reduce(x.size(), CpuParallel.REDUCE_BLOCK, (lo, hi) -> dotLoop(xb, xo, xb, xo, lo, hi));
        buf(so).put(off(out), (float) s);
    }

    void countNonFinite(Tensor x, CpuStorage sx, Tensor out, CpuStorage so) {
        FloatBuffer xb = buf(sx);
        int xo = off(x);
        double s = par.reduce(x.size(), CpuParallel.REDUCE_BLOCK, (lo, hi) -> countLoop(xb, xo, lo, hi));
        buf(so).put(off(out), (float) s);
    }

    private static double countLoop(FloatBuffer x, int xo, int lo, int hi) {
        int c = 0;
        for (int i = lo; i < hi; i++) {
            float v = x.get(xo + i);
            if (v - v != 0f) c++; // NaN or +-Inf
        }
        return c;
    }

    void scaleByScalar(Tensor x, CpuStorage sx, Tensor s, CpuStorage ss, float power, float alpha, Tensor y, CpuStorage sy) {
        float sv = buf(ss).get(off(s));
        float sp = (float) Math.pow(sv, power);
        if (!Float.isFinite(sp)) {
            elementwise.scaleInPlace(y, sy, 0f);
            return;
        }
        elementwise.scaleCopy(alpha * sp, x, sx, y, sy);
    }

    void scalarMulAdd(float alpha, Tensor a, CpuStorage sa, Tensor b, CpuStorage sb, float beta, Tensor out, CpuStorage so) {
        double av = buf(sa).get(off(a)), bv = buf(sb).get(off(b));
        double v = av * bv * alpha;
        if (beta != 0f) v += (double) beta * buf(so).get(off(out));
        buf(so).put(off(out), (float) v);
    }
}
