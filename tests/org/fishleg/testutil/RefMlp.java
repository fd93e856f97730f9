package org.fishleg.testutil;

import org.fishleg.backend.Activation;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.MlpSpec;

/**
 * Double-precision reference of an MLP with the same flat parameter layout as {@link org.fishleg.nn.Mlp}
 * (per layer a (n_in [+1]) x n_out row-major block, bias row 0; a learned sigma last). Forward, NLL,
 * analytic gradient, explicit Jacobian and Gauss-Newton matrix, for tests.
 */
public final class RefMlp {
    public final MlpSpec spec;
    public final Likelihood lik;
    public final int paramCount;
    private final int[] offsets;

    public RefMlp(MlpSpec spec, Likelihood lik) {
        this.spec = spec;
        this.lik = lik;
        offsets = new int[spec.layers().size()];
        int off = 0;
        for (int i = 0; i < offsets.length; i++) {
            offsets[i] = off;
            off += spec.layers().get(i).paramCount();
        }
        paramCount = off + (lik.learnSigma ? 1 : 0);
    }

    /** sigma: the last parameter, or exp of it for a log-sigma likelihood. */
    public double sigma(double[] p) {
        if (!lik.learnSigma) return lik.sigma;
        return lik.logSigma ? Math.exp(p[paramCount - 1]) : p[paramCount - 1];
    }

    /** Pre-activations [layer][row][col] and activations; index 0 of acts is the input. */
    public double[][][][] forwardAll(double[] p, double[][] x) {
        int nl = offsets.length;
        double[][][] pre = new double[nl][][];
        double[][][] act = new double[nl + 1][][];
        act[0] = x;
        for (int l = 0; l < nl; l++) {
            MlpSpec.LayerSpec s = spec.layers().get(l);
            int n = x.length;
            pre[l] = new double[n][s.out];
            act[l + 1] = new double[n][s.out];
            int wo = offsets[l] + (s.bias ? s.out : 0);
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < s.out; j++) {
                    double a = s.bias ? p[offsets[l] + j] : 0;
                    for (int k = 0; k < s.in; k++) a += act[l][i][k] * p[wo + k * s.out + j];
                    pre[l][i][j] = a;
                    act[l + 1][i][j] = s.activation.apply(a);
                }
            }
        }
        return new double[][][][] {pre, act};
    }

    public double[][] forward(double[] p, double[][] x) {
        double[][][][] r = forwardAll(p, x);
        return r[1][r[1].length - 1];
    }

    /** Mean over rows of the per-row NLL summed over outputs. */
    public double nll(double[] p, double[][] x, double[][] y) {
        double[][] f = forward(p, x);
        double s = 0;
        double sig = sigma(p);
        for (int i = 0; i < f.length; i++) s += rowNll(lik.kind, f[i], y[i], sig);
        return s / f.length;
    }

    public static double rowNll(LikelihoodKind kind, double[] f, double[] y, double sigma) {
        double s = 0;
        switch (kind) {
            case BERNOULLI:
                for (int j = 0; j < f.length; j++) s += Math.max(f[j], 0) + Math.log1p(Math.exp(-Math.abs(f[j]))) - y[j] * f[j];
                return s;
            case GAUSSIAN:
                for (int j = 0; j < f.length; j++)
                    s += (y[j] - f[j]) * (y[j] - f[j]) / (2 * sigma * sigma) + Math.log(sigma) + 0.5 * Math.log(2 * Math.PI);
                return s;
            default: {
                double m = Double.NEGATIVE_INFINITY;
                for (double v : f) m = Math.max(m, v);
                double z = 0;
                for (double v : f) z += Math.exp(v - m);
                double lse = m + Math.log(z);
                for (int j = 0; j < f.length; j++) s += y[j] * (lse - f[j]);
                return s;
            }
        }
    }

    /** d rowNll / d f. */
    public static double[] rowGrad(LikelihoodKind kind, double[] f, double[] y, double sigma) {
        double[] g = new double[f.length];
        switch (kind) {
            case BERNOULLI:
                for (int j = 0; j < f.length; j++) g[j] = Activation.SIGMOID.apply(f[j]) - y[j];
                return g;
            case GAUSSIAN:
                for (int j = 0; j < f.length; j++) g[j] = (f[j] - y[j]) / (sigma * sigma);
                return g;
            default: {
                double[] pr = softmax(f);
                double ys = 0;
                for (double v : y) ys += v;
                for (int j = 0; j < f.length; j++) g[j] = ys * pr[j] - y[j];
                return g;
            }
        }
    }

    public static double[] softmax(double[] f) {
        double m = Double.NEGATIVE_INFINITY;
        for (double v : f) m = Math.max(m, v);
        double[] e = new double[f.length];
        double z = 0;
        for (int j = 0; j < f.length; j++) { e[j] = Math.exp(f[j] - m); z += e[j]; }
        for (int j = 0; j < f.length; j++) e[j] /= z;
        return e;
    }

    /** Output Hessian H(f) of the row NLL (independent of y for these likelihoods). */
    public static double[][] rowHessian(LikelihoodKind kind, double[] f, double sigma) {
        int k = f.length;
        double[][] h = new double[k][k];
        switch (kind) {
            case BERNOULLI:
                for (int j = 0; j < k; j++) { double s = Activation.SIGMOID.apply(f[j]); h[j][j] = s * (1 - s); }
                return h;
            case GAUSSIAN:
                for (int j = 0; j < k; j++) h[j][j] = 1 / (sigma * sigma);
                return h;
            default: {
                double[] pr = softmax(f);
                for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) h[i][j] = (i == j ? pr[i] : 0) - pr[i] * pr[j];
                return h;
            }
        }
    }

    /** Analytic gradient of {@link #nll} (back-propagation in double). */
    public double[] gradient(double[] p, double[][] x, double[][] y) {
        double[][][][] fa = forwardAll(p, x);
        double[][][] pre = fa[0], act = fa[1];
        int nl = offsets.length, n = x.length;
        double sig = sigma(p);
        double[] g = new double[paramCount];
        double[][] delta = new double[n][];
        MlpSpec.LayerSpec top = spec.layers().get(nl - 1);
        for (int i = 0; i < n; i++) {
            double[] gf = rowGrad(lik.kind, act[nl][i], y[i], sig);
            delta[i] = new double[top.out];
            for (int j = 0; j < top.out; j++) delta[i][j] = gf[j] * top.activation.derivative(pre[nl - 1][i][j]) / n;
        }
        for (int l = nl - 1; l >= 0; l--) {
            MlpSpec.LayerSpec s = spec.layers().get(l);
            int wo = offsets[l] + (s.bias ? s.out : 0);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s.out; j++) {
                    if (s.bias) g[offsets[l] + j] += delta[i][j];
                    for (int k = 0; k < s.in; k++) g[wo + k * s.out + j] += act[l][i][k] * delta[i][j];
                }
            if (l > 0) {
                MlpSpec.LayerSpec below = spec.layers().get(l - 1);
                double[][] nd = new double[n][s.in];
                for (int i = 0; i < n; i++)
                    for (int k = 0; k < s.in; k++) {
                        double v = 0;
                        for (int j = 0; j < s.out; j++) v += delta[i][j] * p[wo + k * s.out + j];
                        nd[i][k] = v * below.activation.derivative(pre[l - 1][i][k]);
                    }
                delta = nd;
            }
        }
        if (lik.learnSigma) {
            double[][] f = act[nl];
            double gs = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < f[i].length; j++) gs += 1 / sig - (y[i][j] - f[i][j]) * (y[i][j] - f[i][j]) / (sig * sig * sig);
            g[paramCount - 1] = gs / n * (lik.logSigma ? sig : 1); // d/ds = sigma d/dsigma for s = log sigma
        }
        return g;
    }

    /** Jacobian of the outputs: [row][output][param] by central differences in double (sigma column 0). */
    public double[][][] jacobian(double[] p, double[][] x) {
        double eps = 1e-6;
        int n = x.length, k = spec.outputSize();
        double[][][] j = new double[n][k][paramCount];
        double[] q = p.clone();
        for (int t = 0; t < paramCount - (lik.learnSigma ? 1 : 0); t++) {
            q[t] = p[t] + eps;
            double[][] fp = forward(q, x);
            q[t] = p[t] - eps;
            double[][] fm = forward(q, x);
            q[t] = p[t];
            for (int i = 0; i < n; i++) for (int o = 0; o < k; o++) j[i][o][t] = (fp[i][o] - fm[i][o]) / (2 * eps);
        }
        return j;
    }

    /** The Gauss-Newton / Fisher matrix (1/N) sum_i J_i^T H_i J_i, plus the sigma block 2 n_out / sigma^2. */
    public double[][] gaussNewton(double[] p, double[][] x) {
        double[][][] jac = jacobian(p, x);
        double[][] f = forward(p, x);
        int n = x.length, k = spec.outputSize();
        double sig = sigma(p);
        double[][] g = new double[paramCount][paramCount];
        for (int i = 0; i < n; i++) {
            double[][] h = rowHessian(lik.kind, f[i], sig);
            double[][] hj = new double[k][paramCount];
            for (int a = 0; a < k; a++) for (int c = 0; c < k; c++) if (h[a][c] != 0)
                for (int t = 0; t < paramCount; t++) hj[a][t] += h[a][c] * jac[i][c][t];
            for (int s = 0; s < paramCount; s++) for (int a = 0; a < k; a++) {
                double js = jac[i][a][s];
                if (js == 0) continue;
                for (int t = 0; t < paramCount; t++) g[s][t] += js * hj[a][t] / n;
            }
        }
        if (lik.learnSigma) g[paramCount - 1][paramCount - 1] = lik.logSigma ? 2.0 * k : 2.0 * k / (sig * sig);
        return g;
    }

    public static double[] matVec(double[][] m, double[] v) {
        double[] r = new double[m.length];
        for (int i = 0; i < m.length; i++) { double s = 0; for (int j = 0; j < v.length; j++) s += m[i][j] * v[j]; r[i] = s; }
        return r;
    }

    public static double[] toDouble(float[] a) { double[] d = new double[a.length]; for (int i = 0; i < a.length; i++) d[i] = a[i]; return d; }

    public static float[] toFloat(double[] a) { float[] f = new float[a.length]; for (int i = 0; i < a.length; i++) f[i] = (float) a[i]; return f; }

    public static double[][] rows(float[] flat, int n, int d) {
        double[][] r = new double[n][d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) r[i][j] = flat[i * d + j];
        return r;
    }

    /** max_i |a_i - b_i| / max(max_i |b_i|, floor). */
    public static double relErr(double[] a, double[] b, double floor) {
        double m = floor, e = 0;
        for (double v : b) m = Math.max(m, Math.abs(v));
        for (int i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
        return e / m;
    }
}
