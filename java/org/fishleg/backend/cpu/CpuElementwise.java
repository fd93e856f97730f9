package org.fishleg.backend.cpu;

import static org.fishleg.backend.cpu.CpuStorage.buf;
import static org.fishleg.backend.cpu.CpuStorage.off;

import java.nio.FloatBuffer;
import org.fishleg.backend.Activation;
import org.fishleg.backend.BackendException;
import org.fishleg.backend.Tensor;

/**
 * The CPU twins of cuda/elementwise.cuh: fill, axpby, mul, clamp, row-vector and column-sum ops, activations
 * and their derivatives, triangular masks, identity, and the mirror of an upper triangle. Arguments arrive
 * checked by {@link org.fishleg.backend.AbstractBackend}.
 */
final class CpuElementwise {
    private final CpuParallel par;

    CpuElementwise(CpuParallel par) { this.par = par; }

    void fill(Tensor t, CpuStorage s, float value) {
        FloatBuffer b = buf(s);
        int o = off(t);
        par.forRange(t.size(), (lo, hi) -> fillRange(b, o + lo, o + hi, value));
    }

    /** c = beta * c, beta == 0 ignoring c's contents (GEMM with k == 0 or alpha == 0). */
    void scaleInPlace(Tensor c, CpuStorage sc, float beta) {
        FloatBuffer cb = buf(sc);
        int co = off(c);
        if (beta == 0f) par.forRange(c.size(), (lo, hi) -> fillRange(cb, co + lo, co + hi, 0f));
        else if (beta != 1f) par.forRange(c.size(), (lo, hi) -> scaleLoop(beta, cb, co, lo, hi));
    }

    void axpby(float alpha, Tensor x, CpuStorage sx, float beta, Tensor y, CpuStorage sy) {
        FloatBuffer xb = buf(sx), yb = buf(sy);
        int xo = off(x), yo = off(y);
        if (beta == 0f) par.forRange(x.size(), (lo, hi) -> scaleCopyLoop(alpha, xb, xo, yb, yo, lo, hi));
        else if (alpha == 0f) { if (beta != 1f) par.forRange(y.size(), (lo, hi) -> scaleLoop(beta, yb, yo, lo, hi)); }
        else par.forRange(x.size(), (lo, hi) -> axpbyLoop(alpha, xb, xo, beta, yb, yo, lo, hi));
    }

    /** y[i] = alpha * x[i] for i in [0, n) (also the GAUSSIAN output Hessian and scaleByScalar). */
    void scaleCopy(float alpha, Tensor x, CpuStorage sx, Tensor y, CpuStorage sy) {
        FloatBuffer xb = buf(sx), yb = buf(sy);
        int xo = off(x), yo = off(y);
        par.forRange(x.size(), (lo, hi) -> scaleCopyLoop(alpha, xb, xo, yb, yo, lo, hi));
    }

    static void fillRange(FloatBuffer b, int from, int to, float v) {
        for (int i = from; i < to; i++) b.put(i, v);
    }

    private static void scaleCopyLoop(float alpha, FloatBuffer x, int xo, FloatBuffer y, int yo, int lo, int hi) {
        for (int i = lo; i < hi; i++) y.put(yo + i, alpha * x.get(xo + i));
    }

    private static void scaleLoop(float beta, FloatBuffer y, int yo, int lo, int hi) {
        for (int i = lo; i < hi; i++) y.put(yo + i, beta * y.get(yo + i));
    }

    private static void axpbyLoop(float alpha, FloatBuffer x, int xo, float beta, FloatBuffer y, int yo, int lo, int hi) {
        for (int i = lo; i < hi; i++) y.put(yo + i, alpha * x.get(xo + i) + beta * y.get(yo + i));
    }

    void mul(Tensor x, CpuStorage sx, Tensor y, CpuStorage sy, Tensor out, CpuStorage so) {
        FloatBuffer xb = buf(sx), yb = buf(sy), ob = buf(so);
        int xo = off(x), yo = off(y), oo = off(out);
        par.forRange(x.size(), (lo, hi) -> mulLoop(xb, xo, yb, yo, ob, oo, lo, hi));
    }

    private static void mulLoop(FloatBuffer x, int xo, FloatBuffer y, int yo, FloatBuffer o, int oo, int lo, int hi) {
        for (int i = lo; i < hi; i++) o.put(oo + i, x.get(xo + i) * y.get(yo + i));
    }

    void clamp(Tensor x, CpuStorage sx, float lo, float hi) {
        FloatBuffer b = buf(sx);
        int o = off(x);
        par.forRange(x.size(), (a, z) -> clampLoop(b, o, lo, hi, a, z));
    }

    private static void clampLoop(FloatBuffer b, int o, float lo, float hi, int from, int to) {
        for (int i = from; i < to; i++) {
            float v = b.get(o + i);
            b.put(o + i, v < lo ? lo : (v > hi ? hi : v)); // NaN stays NaN
        }
    }

    void addRowVector(Tensor m, CpuStorage sm, Tensor row, CpuStorage sr) {
        FloatBuffer mb = buf(sm), rb = buf(sr);
        int mo = off(m), ro = off(row), cols = m.cols();
        par.forRows(m.rows(), cols, (r0, r1) -> {
            for (int r = r0; r < r1; r++) addRowLoop(mb, mo + r * cols, rb, ro, cols);
        });
    }

    private static void addRowLoop(FloatBuffer m, int mo, FloatBuffer r, int ro, int n) {
        for (int j = 0; j < n; j++) m.put(mo + j, m.get(mo + j) + r.get(ro + j));
    }

    void columnSums(float alpha, Tensor m, CpuStorage sm, float beta, Tensor out, CpuStorage so) {
        FloatBuffer mb = buf(sm), ob = buf(so);
        int mo = off(m), oo = off(out), rows = m.rows(), cols = m.cols();
        CpuParallel.Range body = (c0, c1) -> columnSumsLoop(alpha, mb, mo, rows, cols, beta, ob, oo, c0, c1);
        long n = (long) rows * cols;
        if (n <= CpuParallel.PARALLEL_THRESHOLD || par.threads == 1 || cols < 32) {
            body.run(0, cols);
        } else {
            int chunks = Math.min(par.threads * 2, cols / 16);
            int per = ((cols + chunks - 1) / chunks + 15) & ~15;
            int nc = (cols + per - 1) / per;
            par.pool.run(nc, i -> body.run(i * per, Math.min(cols, (i + 1) * per)));
        }
    }

    private static void columnSumsLoop(float alpha, FloatBuffer m, int mo, int rows, int cols, float beta,
                                       FloatBuffer o, int oo, int c0, int c1) {
        int w = c1 - c0;
        if (w <= 0) return;
        double[] acc = new double[w];
        for (int r = 0; r < rows; r++) {
            int base = mo + r * cols + c0;
            for (int j = 0; j < w; j++) acc[j] += m.get(base + j);
        }
        for (int j = 0; j < w; j++) {
            double v = alpha * acc[j];
            if (beta != 0f) v += (double) beta * o.get(oo + c0 + j);
            o.put(oo + c0 + j, (float) v);
        }
    }

    void activation(Activation phi, Tensor a, CpuStorage sa, Tensor h, CpuStorage sh) {
        FloatBuffer ab = buf(sa), hb = buf(sh);
        int ao = off(a), ho = off(h);
        switch (phi) {
            case IDENTITY:
                if (sa == sh && ao == ho) return;
                par.forRange(a.size(), (lo, hi) -> hb.put(ho + lo, ab, ao + lo, hi - lo));
                return;
            case RELU: par.forRange(a.size(), (lo, hi) -> reluLoop(ab, ao, hb, ho, lo, hi)); return;
            case SIGMOID: par.forRange(a.size(), (lo, hi) -> sigmoidLoop(ab, ao, hb, ho, lo, hi)); return;
            case TANH: par.forRange(a.size(), (lo, hi) -> tanhLoop(ab, ao, hb, ho, lo, hi)); return;
            case SOFTPLUS: par.forRange(a.size(), (lo, hi) -> softplusLoop(ab, ao, hb, ho, lo, hi)); return;
            default: throw new BackendException("activation: unsupported " + phi);
        }
    }

    private static void reluLoop(FloatBuffer a, int ao, FloatBuffer h, int ho, int lo, int hi) {
        for (int i = lo; i < hi; i++) {
            // a > 0 ? a : 0 (NaN -> 0 like Activation.apply), as a mask so C2 emits no branch
            float v = a.get(ao + i);
            int keep = v > 0f ? -1 : 0;
            h.put(ho + i, Float.intBitsToFloat(Float.floatToRawIntBits(v) & keep));
        }
    }

    private static void sigmoidLoop(FloatBuffer a, int ao, FloatBuffer h, int ho, int lo, int hi) {
        for (int i = lo; i < hi; i++) h.put(ho + i, (float) CpuMath.sigmoid(CpuMath.widen(a.get(ao + i))));
    }

    private static void tanhLoop(FloatBuffer a, int ao, FloatBuffer h, int ho, int lo, int hi) {
        for (int i = lo; i < hi; i++) h.put(ho + i, (float) CpuMath.tanh(CpuMath.widen(a.get(ao + i))));
    }

    private static void softplusLoop(FloatBuffer a, int ao, FloatBuffer h, int ho, int lo, int hi) {
        for (int i = lo; i < hi; i++) h.put(ho + i, (float) CpuMath.softplus(CpuMath.widen(a.get(ao + i))));
    }

    void activationDerivMul(Activation phi, Tensor a, CpuStorage sa, Tensor g, CpuStorage sg, Tensor out, CpuStorage so) {
        String op = "activationDerivMul";
        FloatBuffer ab = buf(sa), gb = buf(sg), ob = buf(so);
        int ao = off(a), go = off(g), oo = off(out);
        switch (phi) {
            case IDENTITY:
                if (sg == so && go == oo) return;
                par.forRange(a.size(), (lo, hi) -> ob.put(oo + lo, gb, go + lo, hi - lo));
                return;
            case RELU: par.forRange(a.size(), (lo, hi) -> reluDerivLoop(ab, ao, gb, go, ob, oo, lo, hi)); return;
            case SIGMOID:
            case SOFTPLUS:
            case TANH: {
                int which = phi.ordinal();
                par.forRange(a.size(), (lo, hi) -> smoothDerivLoop(which, ab, ao, gb, go, ob, oo, lo, hi));
                return;
            }
            default: throw new BackendException(op + ": unsupported " + phi);
        }
    }

    private static void reluDerivLoop(FloatBuffer a, int ao, FloatBuffer g, int go, FloatBuffer o, int oo, int lo, int hi) {
        for (int i = lo; i < hi; i++) {
            int keep = a.get(ao + i) > 0f ? -1 : 0; // mask, not a branch: a's sign is unpredictable
            o.put(oo + i, Float.intBitsToFloat(Float.floatToRawIntBits(g.get(go + i)) & keep));
        }
    }

    private static final int SIG = Activation.SIGMOID.ordinal(), TANH = Activation.TANH.ordinal();

    private static void smoothDerivLoop(int which, FloatBuffer a, int ao, FloatBuffer g, int go, FloatBuffer o, int oo, int lo, int hi) {
        if (which == TANH) {
            for (int i = lo; i < hi; i++) o.put(oo + i, (float) (CpuMath.tanhPrime(CpuMath.widen(a.get(ao + i))) * g.get(go + i)));
        } else if (which == SIG) {
            for (int i = lo; i < hi; i++) o.put(oo + i, (float) (CpuMath.sigmoidPrime(CpuMath.widen(a.get(ao + i))) * g.get(go + i)));
        } else { // softplus' = sigmoid
            for (int i = lo; i < hi; i++) o.put(oo + i, (float) (CpuMath.sigmoid(CpuMath.widen(a.get(ao + i))) * g.get(go + i)));
        }
    }

    void activationSecondDerivMul(Activation phi, Tensor a, CpuStorage sa, Tensor g, CpuStorage sg, Tensor out, CpuStorage so) {
        String op = "activationSecondDerivMul";
        FloatBuffer ab = buf(sa), gb = buf(sg), ob = buf(so);
        int ao = off(a), go = off(g), oo = off(out);
        switch (phi) {
            case IDENTITY:
            case RELU:
                par.forRange(a.size(), (lo, hi) -> fillRange(ob, oo + lo, oo + hi, 0f));
                return;
            case SIGMOID:
            case SOFTPLUS:
            case TANH: {
                int which = phi.ordinal();
                par.forRange(a.size(), (lo, hi) -> smoothSecondLoop(which, ab, ao, gb, go, ob, oo, lo, hi));
                return;
            }
            default: throw new BackendException(op + ": unsupported " + phi);
        }
    }

    private static void smoothSecondLoop(int which, FloatBuffer a, int ao, FloatBuffer g, int go, FloatBuffer o, int oo, int lo, int hi) {
        if (which == TANH) {
            for (int i = lo; i < hi; i++) o.put(oo + i, (float) (CpuMath.tanhSecond(CpuMath.widen(a.get(ao + i))) * g.get(go + i)));
        } else if (which == SIG) {
            for (int i = lo; i < hi; i++) o.put(oo + i, (float) (CpuMath.sigmoidSecond(CpuMath.widen(a.get(ao + i))) * g.get(go + i)));
        } else { // softplus'' = sigmoid'
            for (int i = lo; i < hi; i++) o.put(oo + i, (float) (CpuMath.sigmoidPrime(CpuMath.widen(a.get(ao + i))) * g.get(go + i)));
        }
    }

    void triangularMask(Tensor t, CpuStorage s, boolean upper) {
        FloatBuffer b = buf(s);
        int o = off(t), n = t.cols();
        par.forRows(n, n, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int base = o + r * n;
                if (upper) fillRange(b, base, base + r, 0f);          // j < r
                else fillRange(b, base + r + 1, base + n, 0f);       // j > r
            }
        });
    }

    void setIdentity(Tensor t, CpuStorage st, float s) {
        FloatBuffer b = buf(st);
        int o = off(t), n = t.cols();
        par.forRows(n, n, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int base = o + r * n;
                fillRange(b, base, base + n, 0f);
                b.put(base + r, s);
            }
        });
    }

    /** P[i][j] = P[j][i] for every j < i (the CPU twin of kernel fl_mirror_upper). */
    void mirrorUpper(CpuStorage sp, Tensor p) {
        FloatBuffer pb = buf(sp);
        int po = off(p), n = p.rows();
        par.forRows(n, n, (i0, i1) -> {
            for (int i = i0; i < i1; i++)
                for (int j = 0; j < i; j++) pb.put(po + i * n + j, pb.get(po + j * n + i));
        });
    }
}
