package org.fishleg.backend.cpu;

import static org.fishleg.backend.cpu.CpuStorage.buf;
import static org.fishleg.backend.cpu.CpuStorage.off;

import java.nio.FloatBuffer;
import org.fishleg.backend.BackendException;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.backend.Tensor;

/**
 * The CPU twins of cuda/likelihood.cuh: row-wise negative log-likelihoods (BERNOULLI, GAUSSIAN, SOFTMAX),
 * their gradients, output Hessian-vector products, the Gaussian sigma gradient and target sampling.
 * Arguments arrive checked by {@link org.fishleg.backend.AbstractBackend}; sigma is the checked 1x1
 * tensor for GAUSSIAN and is not read for the other kinds.
 */
final class CpuLikelihood {
    private final CpuParallel par;
    private final CpuElementwise elementwise;

    CpuLikelihood(CpuParallel par, CpuElementwise elementwise) {
        this.par = par;
        this.elementwise = elementwise;
    }

    /** sigma's value for GAUSSIAN, NaN for the other kinds. */
    private static double sigmaValue(LikelihoodKind kind, Tensor sigma, CpuStorage ss) {
        if (kind != LikelihoodKind.GAUSSIAN) return Double.NaN;
        return buf(ss).get(off(sigma));
    }

    void nll(LikelihoodKind kind, Tensor f, CpuStorage sf, Tensor y, CpuStorage sy, Tensor sigma, CpuStorage ss,
             Tensor out, CpuStorage so) {
        String op = "nll";
        double sig = sigmaValue(kind, sigma, ss);
        FloatBuffer fb = buf(sf), yb = buf(sy);
        int fo = off(f), yo = off(y), rows = f.rows(), cols = f.cols();
        double total;
        switch (kind) {
            case BERNOULLI:
                total = par.reduce(f.size(), CpuParallel.REDUCE_BLOCK, (lo, hi) -> bernoulliNllLoop(fb, fo, yb, yo, lo, hi));
                break;
            case GAUSSIAN: {
                double inv2s2 = 1.0 / (2.0 * sig * sig);
                double cst = Math.log(sig) + 0.5 * Math.log(2.0 * Math.PI);
                total = par.reduce(f.size(), CpuParallel.REDUCE_BLOCK, (lo, hi) -> gaussianSqLoop(fb, fo, yb, yo, lo, hi)) * inv2s2
                        + cst * f.size();
                break;
            }
            case SOFTMAX:
                total = par.reduce(rows, CpuParallel.rowBlock(cols), (long) rows * cols,
                        (r0, r1) -> softmaxNllRows(fb, fo, yb, yo, cols, r0, r1));
                break;
            default: throw new BackendException(op + ": unsupported " + kind);
        }
        buf(so).put(off(out), rows == 0 ? 0f : (float) (total / rows));
    }

    private static double bernoulliNllLoop(FloatBuffer f, int fo, FloatBuffer y, int yo, int lo, int hi) {
        double s = 0;
        for (int i = lo; i < hi; i++) {
            double fv = CpuMath.widen(f.get(fo + i));
            s += CpuMath.softplus(fv) - y.get(yo + i) * fv;
        }
        return s;
    }

    private static double gaussianSqLoop(FloatBuffer f, int fo, FloatBuffer y, int yo, int lo, int hi) {
        double s0 = 0, s1 = 0;
        int i = lo;
        for (; i + 1 < hi; i += 2) {
            double d0 = (double) y.get(yo + i) - f.get(fo + i);
            double d1 = (double) y.get(yo + i + 1) - f.get(fo + i + 1);
            s0 += d0 * d0;
            s1 += d1 * d1;
        }
        for (; i < hi; i++) {
            double d = (double) y.get(yo + i) - f.get(fo + i);
            s0 += d * d;
        }
        return s0 + s1;
    }

    private static double softmaxNllRows(FloatBuffer f, int fo, FloatBuffer y, int yo, int cols, int r0, int r1) {
        double s = 0;
        for (int r = r0; r < r1; r++) {
            int fb = fo + r * cols, yb = yo + r * cols;
            float mx = rowMax(f, fb, cols);
            double se = 0, yf = 0;
            for (int j = 0; j < cols; j++) {
                float fv = f.get(fb + j);
                se += CpuMath.exp(CpuMath.widen(fv) - mx);
                yf += (double) y.get(yb + j) * fv;
            }
            s += mx + Math.log(se) - yf;
        }
        return s;
    }

    private static float rowMax(FloatBuffer f, int base, int cols) {
        float mx = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < cols; j++) mx = Math.max(mx, f.get(base + j));
        return mx;
    }

    void nllGrad(LikelihoodKind kind, Tensor f, CpuStorage sf, Tensor y, CpuStorage sy, Tensor sigma, CpuStorage ss,
                 float scale, Tensor grad, CpuStorage sg) {
        String op = "nllGrad";
        double sig = sigmaValue(kind, sigma, ss);
        FloatBuffer fb = buf(sf), yb = buf(sy), gb = buf(sg);
        int fo = off(f), yo = off(y), go = off(grad), cols = f.cols();
        switch (kind) {
            case BERNOULLI:
                par.forRange(f.size(), (lo, hi) -> bernoulliGradLoop(scale, fb, fo, yb, yo, gb, go, lo, hi));
                return;
            case GAUSSIAN: {
                double c = scale / (sig * sig);
                par.forRange(f.size(), (lo, hi) -> gaussianGradLoop(c, fb, fo, yb, yo, gb, go, lo, hi));
                return;
            }
            case SOFTMAX:
                par.forRows(f.rows(), cols, (r0, r1) -> softmaxGradRows(scale, fb, fo, yb, yo, gb, go, cols, r0, r1));
                return;
            default: throw new BackendException(op + ": unsupported " + kind);
        }
    }

    private static void bernoulliGradLoop(float scale, FloatBuffer f, int fo, FloatBuffer y, int yo, FloatBuffer g, int go, int lo, int hi) {
        for (int i = lo; i < hi; i++)
            g.put(go + i, (float) (scale * (CpuMath.sigmoid(CpuMath.widen(f.get(fo + i))) - y.get(yo + i))));
    }

    private static void gaussianGradLoop(double c, FloatBuffer f, int fo, FloatBuffer y, int yo, FloatBuffer g, int go, int lo, int hi) {
        for (int i = lo; i < hi; i++)
            g.put(go + i, (float) (c * ((double) f.get(fo + i) - y.get(yo + i))));
    }

    private static void softmaxGradRows(float scale, FloatBuffer f, int fo, FloatBuffer y, int yo, FloatBuffer g, int go,
                                        int cols, int r0, int r1) {
        for (int r = r0; r < r1; r++) {
            int fb = fo + r * cols, yb = yo + r * cols, gb = go + r * cols;
            float mx = rowMax(f, fb, cols);
            double se = 0;
            for (int j = 0; j < cols; j++) se += CpuMath.exp(CpuMath.widen(f.get(fb + j)) - mx);
            double inv = 1.0 / se;
            for (int j = 0; j < cols; j++) {
                double p = CpuMath.exp(CpuMath.widen(f.get(fb + j)) - mx) * inv;
                g.put(gb + j, (float) (scale * (p - y.get(yb + j))));
            }
        }
    }

    void gaussianSigmaGrad(Tensor f, CpuStorage sf, Tensor y, CpuStorage sy, Tensor sigma, CpuStorage ss, float scale,
                           Tensor out, CpuStorage so) {
        double sig = sigmaValue(LikelihoodKind.GAUSSIAN, sigma, ss);
        FloatBuffer fb = buf(sf), yb = buf(sy);
        int fo = off(f), yo = off(y);
        double sq = par.reduce(f.size(), CpuParallel.REDUCE_BLOCK, (lo, hi) -> gaussianSqLoop(fb, fo, yb, yo, lo, hi));
        double v = scale * (f.size() / sig - sq / (sig * sig * sig));
        buf(so).put(off(out), (float) v);
    }

    void outputHessianVec(LikelihoodKind kind, Tensor f, CpuStorage sf, Tensor sigma, CpuStorage ss, Tensor v, CpuStorage sv,
                          float scale, Tensor out, CpuStorage so) {
        String op = "outputHessianVec";
        double sig = sigmaValue(kind, sigma, ss);
        FloatBuffer fb = buf(sf), vb = buf(sv), ob = buf(so);
        int fo = off(f), vo = off(v), oo = off(out), cols = f.cols();
        switch (kind) {
            case BERNOULLI:
                par.forRange(f.size(), (lo, hi) -> bernoulliHvLoop(scale, fb, fo, vb, vo, ob, oo, lo, hi));
                return;
            case GAUSSIAN: {
                float c = (float) (scale / (sig * sig));
                elementwise.scaleCopy(c, v, sv, out, so);
                return;
            }
            case SOFTMAX:
                par.forRows(f.rows(), cols, (r0, r1) -> softmaxHvRows(scale, fb, fo, vb, vo, ob, oo, cols, r0, r1));
                return;
            default: throw new BackendException(op + ": unsupported " + kind);
        }
    }

    private static void bernoulliHvLoop(float scale, FloatBuffer f, int fo, FloatBuffer v, int vo, FloatBuffer o, int oo, int lo, int hi) {
        for (int i = lo; i < hi; i++)
            o.put(oo + i, (float) (scale * CpuMath.sigmoidPrime(CpuMath.widen(f.get(fo + i))) * v.get(vo + i)));
    }

    private static void softmaxHvRows(float scale, FloatBuffer f, int fo, FloatBuffer v, int vo, FloatBuffer o, int oo,
                                      int cols, int r0, int r1) {
        for (int r = r0; r < r1; r++) {
            int fb = fo + r * cols, vb = vo + r * cols, ob = oo + r * cols;
            float mx = rowMax(f, fb, cols);
            double se = 0, pv = 0;
            for (int j = 0; j < cols; j++) {
                double e = CpuMath.exp(CpuMath.widen(f.get(fb + j)) - mx);
                se += e;
                pv += e * v.get(vb + j);
            }
            double inv = 1.0 / se;
            pv *= inv;
            for (int j = 0; j < cols; j++) {
                double p = CpuMath.exp(CpuMath.widen(f.get(fb + j)) - mx) * inv;
                o.put(ob + j, (float) (scale * p * (v.get(vb + j) - pv)));
            }
        }
    }

    void sampleTargets(LikelihoodKind kind, Tensor f, CpuStorage sf, Tensor sigma, CpuStorage ss, Tensor noise, CpuStorage sn,
                       Tensor y, CpuStorage sy) {
        String op = "sampleTargets";
        double sig = sigmaValue(kind, sigma, ss);
        FloatBuffer fb = buf(sf), nb = buf(sn), yb = buf(sy);
        int fo = off(f), no = off(noise), yo = off(y), cols = f.cols();
        switch (kind) {
            case BERNOULLI:
                par.forRange(f.size(), (lo, hi) -> bernoulliSampleLoop(fb, fo, nb, no, yb, yo, lo, hi));
                return;
            case GAUSSIAN: {
                float s = (float) sig;
                par.forRange(f.size(), (lo, hi) -> gaussianSampleLoop(s, fb, fo, nb, no, yb, yo, lo, hi));
                return;
            }
            case SOFTMAX:
                par.forRows(f.rows(), cols, (r0, r1) -> softmaxSampleRows(fb, fo, nb, no, yb, yo, cols, r0, r1));
                return;
            default: throw new BackendException(op + ": unsupported " + kind);
        }
    }

    private static void bernoulliSampleLoop(FloatBuffer f, int fo, FloatBuffer n, int no, FloatBuffer y, int yo, int lo, int hi) {
        for (int i = lo; i < hi; i++)
            y.put(yo + i, n.get(no + i) < (float) CpuMath.sigmoid(CpuMath.widen(f.get(fo + i))) ? 1f : 0f);
    }

    private static void gaussianSampleLoop(float s, FloatBuffer f, int fo, FloatBuffer n, int no, FloatBuffer y, int yo, int lo, int hi) {
        for (int i = lo; i < hi; i++) y.put(yo + i, f.get(fo + i) + s * n.get(no + i));
    }

    private static void softmaxSampleRows(FloatBuffer f, int fo, FloatBuffer n, int no, FloatBuffer y, int yo,
                                          int cols, int r0, int r1) {
        for (int r = r0; r < r1; r++) {
            int fb = fo + r * cols, yb = yo + r * cols;
            float mx = rowMax(f, fb, cols);
            double se = 0;
            for (int j = 0; j < cols; j++) se += CpuMath.exp(CpuMath.widen(f.get(fb + j)) - mx);
            double target = (double) n.get(no + r * cols) * se;
            int k = cols - 1;
            double c = 0;
            for (int j = 0; j < cols; j++) {
                c += CpuMath.exp(CpuMath.widen(f.get(fb + j)) - mx);
                if (c > target) { k = j; break; }
            }
            for (int j = 0; j < cols; j++) y.put(yb + j, j == k ? 1f : 0f);
        }
    }
}
