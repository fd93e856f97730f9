package org.fishleg.experiments;

import java.util.Arrays;
import org.fishleg.backend.Activation;
import org.fishleg.backend.Backend;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.fishleg.optim.fishleg.FishLeg;

/**
 * The exact (population) Fisher information of a deep linear network with a Gaussian likelihood, for
 * inputs x ~ N(0, I), as an operator in double precision on the host, and the exact FishLeg auxiliary
 * loss built from it (fishleg-algorithm.md sections 1 and 6).
 *
 * <h2>Derivation (row-vector convention of {@link Mlp}: h_l = h_{l-1} W_l)</h2>
 *
 * The network is f(x) = x W_1 W_2 ... W_L with x a 1 x n row. For layer i write
 * f = x B_i W_i A_i with B_i = W_1 ... W_{i-1} (B_1 = I) and A_i = W_{i+1} ... W_L (A_L = I). The
 * derivative of f in the direction V = (V_1, ..., V_L) is therefore
 * <pre>   J[V] = sum_j x B_j V_j A_j = x M(V),     M(V) = sum_j B_j V_j A_j   (n x n).</pre>
 * For p(y | x) = N(f(x), sigma^2 I) the Fisher of the mean parameters is E_x[J^T (I / sigma^2) J], so
 * <pre>
 *   &lt;V_i, F_ij V_j&gt; = E_x[ (x B_i V_i A_i) (x B_j V_j A_j)^T ] / sigma^2
 *                    = tr( V_i^T B_i^T E[x^T x] B_j V_j A_j A_i^T ) / sigma^2,
 * </pre>
 * i.e. with C = E[x^T x] (= I for x ~ N(0, I))
 * <pre>   F_ij[V_j] = B_i^T C B_j V_j A_j A_i^T / sigma^2,   (F V)_i = B_i^T C M(V) A_i^T / sigma^2,</pre>
 * which is the formula of the algorithm note, so that formula is already in our row convention (in the
 * column convention y = W_L ... W_1 x the factors would swap sides). Summing over j first makes one
 * product O(L n^3) instead of O(L^2 n^3). The learned sigma adds the block E[d^2 NLL / d sigma^2] =
 * n_out (3 E[r^2] / sigma^4 - 1 / sigma^2) = 2 n_out / sigma^2; the (mean, sigma) cross block
 * E[2 r / sigma^3] is zero. This equals the Gauss-Newton product of {@code GaussNewton} on any input
 * batch whose second moment X^T X / N is C.
 *
 * <h2>Rank and the auxiliary optimum</h2>
 *
 * Write T: M -&gt; (B_i^T M A_i^T)_i and T*: V -&gt; M(V). Then F = T C T* / sigma^2 (weights part): its rank is
 * at most n^2 (+1 for sigma), e.g. 401 of 7601 for the 19 x (20x20) network. F is singular (the
 * rescaling symmetries W_i G, G^-1 W_{i+1} of a deep linear network are flat directions), so with
 * FishLeg's damping gamma = 0 ("ocaml-dln") the auxiliary loss A(z) = 1/2 z^T F z - u^T z is bounded below
 * only for u in range(F) = range(T). The gradient of the training loss is always there:
 * g_i = B_i^T (X^T E / (N sigma^2)) A_i^T = (T m)_i with E = f - y, m = X^T E / (N sigma^2). For C = I and
 * T injective (G = T* T positive definite, generically true), F^+ = sigma^2 T G^-2 T*, hence
 * <pre>   u^T F^+ u = sigma^2 |G^-1 T* u|^2   (= sigma^2 |m|^2 for u = T m),</pre>
 * and the optimum of A is -1/2 u^T F^+ u, the gamma -&gt; 0+ limit of -1/2 u^T (F + gamma I)^-1 u. G is the
 * n^2 x n^2 matrix sum_i (B_i B_i^T) (x) (A_i^T A_i) (400 x 400 here), solved by Cholesky in double
 * ({@link #pseudoInverseQuad}). With gamma &gt; 0 the optimum is computed by conjugate gradients on
 * F + gamma I ({@link #solve}). Sigma's block is scalar: it contributes u_sigma^2 sigma^2 / (2 n_out).
 */
final class DeepLinearFisher {

    private final int depth, n, nn;
    private final boolean learnedSigma;
    private final double sigma;
    private final double[][] w, b, a; // weights, prefix products B_i, suffix products A_i (n x n row-major)
    private final double[] c;         // input second moment E[x^T x], null = identity
    private double[] gramChol;        // Cholesky factor of G (lower, n^2 x n^2), lazily
    private double gramRidge;         // ridge added to G to make the Cholesky succeed (0 normally)

    /**
     * @param params flat parameters in the {@link Mlp} layout: depth blocks of width x width (row-major),
     *               then sigma when {@code learnedSigma}
     * @param fixedSigma sigma when it is not learned (ignored otherwise)
     * @param inputSecondMoment E[x^T x] (width x width, row-major), or null for the identity (x ~ N(0, I))
     */
    DeepLinearFisher(int depth, int width, double[] params, boolean learnedSigma, double fixedSigma,
                            double[] inputSecondMoment) {
        if (depth < 1 || width < 1) throw new IllegalArgumentException("bad deep linear shape " + depth + " x " + width);
        this.depth = depth;
        this.n = width;
        this.nn = width * width;
        this.learnedSigma = learnedSigma;
        int expect = depth * nn + (learnedSigma ? 1 : 0);
        if (params.length != expect)
            throw new IllegalArgumentException("expected " + expect + " parameters for " + depth + " x (" + width + "x" + width
                    + ")" + (learnedSigma ? " + sigma" : "") + ", got " + params.length);
        this.sigma = learnedSigma ? params[params.length - 1] : fixedSigma;
        if (!(sigma > 0)) throw new IllegalArgumentException("sigma must be > 0, got " + sigma);
        if (inputSecondMoment != null && inputSecondMoment.length != nn)
            throw new IllegalArgumentException("input second moment must be " + width + "x" + width);
        this.c = inputSecondMoment == null ? null : inputSecondMoment.clone();
        w = new double[depth][];
        for (int l = 0; l < depth; l++) w[l] = Arrays.copyOfRange(params, l * nn, (l + 1) * nn);
        b = new double[depth][];
        a = new double[depth][];
        b[0] = identity(n);
        for (int l = 1; l < depth; l++) b[l] = mul(b[l - 1], w[l - 1], n);
        a[depth - 1] = identity(n);
        for (int l = depth - 2; l >= 0; l--) a[l] = mul(w[l + 1], a[l + 1], n);
    }

    /** The population Fisher (x ~ N(0, I)) of a deep linear {@link Mlp} at its current parameters. */
    public static DeepLinearFisher of(Mlp model) {
        return of(model, model.backend().download(model.params()));
    }

    /** The population Fisher of a deep linear model's architecture at the given flat parameters. */
    public static DeepLinearFisher of(Mlp model, float[] params) {
        MlpSpec spec = model.spec();
        int width = spec.inputSize();
        for (MlpSpec.LayerSpec s : spec.layers())
            if (s.in != width || s.out != width || s.bias || s.activation != Activation.IDENTITY)
                throw new IllegalArgumentException("not a deep linear network (square, no bias, linear): " + spec);
        if (model.likelihood().kind != LikelihoodKind.GAUSSIAN)
            throw new IllegalArgumentException("the closed-form Fisher needs a Gaussian likelihood, got " + model.likelihood());
        double[] p = new double[params.length];
        for (int i = 0; i < p.length; i++) p[i] = params[i];
        return new DeepLinearFisher(spec.layers().size(), width, p, model.hasSigmaParam(), model.likelihood().sigma, null);
    }

    /** Number of layers. */
    public int depth() { return depth; }
    /** Layer width n. */
    public int width() { return n; }
    /** The likelihood's sigma. */
    public double sigma() { return sigma; }
    /** True when sigma is a parameter (the last element of the flat vectors). */
    public boolean learnedSigma() { return learnedSigma; }
    /** Length of the flat vectors: depth n^2 (+1). */
    public int size() { return depth * nn + (learnedSigma ? 1 : 0); }
    /** The ridge that had to be added to G for its Cholesky factorisation (0 when none was needed). */
    double gramRidge() { factorGram(); return gramRidge; }

    // ------------------------------------------------------------------ operator

    /** M(V) = sum_j B_j V_j A_j (the directional derivative of the network map). */
    double[] tStar(double[] v) {
        checkLen(v);
        double[] m = new double[nn];
        double[] vj = new double[nn];
        for (int j = 0; j < depth; j++) {
            System.arraycopy(v, j * nn, vj, 0, nn);
            addTo(m, mul(b[j], mul(vj, a[j], n), n));
        }
        return m;
    }

    /** (T M)_i = B_i^T M A_i^T, weights only (the sigma element, if any, is 0). */
    public double[] t(double[] m) {
        double[] out = new double[size()];
        for (int i = 0; i < depth; i++) {
            double[] r = mulT(mulTA(b[i], m, n), a[i], n); // B_i^T M A_i^T
            System.arraycopy(r, 0, out, i * nn, nn);
        }
        return out;
    }

    /** F v (no damping). */
    double[] fisherVec(double[] v) { return fisherVec(v, 0); }

    /** (F + gamma I) v. */
    double[] fisherVec(double[] v, double gamma) {
        double[] m = tStar(v);
        if (c != null) m = mul(c, m, n);
        double[] out = t(m);
        double s2 = sigma * sigma;
        for (int i = 0; i < depth * nn; i++) out[i] /= s2;
        if (learnedSigma) out[size() - 1] = 2.0 * n / s2 * v[size() - 1];
        if (gamma != 0) for (int i = 0; i < out.length; i++) out[i] += gamma * v[i];
        return out;
    }

    /** Result of a conjugate-gradient solve. */
    public static final class CgResult {
        /** The solution. */
        public final double[] x;
        /** Iterations used. */
        public final int iterations;
        /** |(F + gamma I) x - u| / |u| (recomputed from x at the end). */
        final double relResidual;
        CgResult(double[] x, int iterations, double relResidual) {
            this.x = x; this.iterations = iterations; this.relResidual = relResidual;
        }
    }

    /** Solves (F + gamma I) x = u by conjugate gradients from x = 0 (gamma = 0 needs u in range(F)). */
    public CgResult solve(double[] u, double gamma, double relTol, int maxIter) {
        checkLen(u);
        double[] x = new double[u.length];
        double[] r = u.clone();
        double[] p = u.clone();
        double rr = dot(r, r), u2 = rr;
        if (u2 == 0) return new CgResult(x, 0, 0);
        int it = 0;
        while (it < maxIter && Math.sqrt(rr / u2) > relTol) {
            double[] ap = fisherVec(p, gamma);
            double pap = dot(p, ap);
            if (!(pap > 0)) break;
            double alpha = rr / pap;
            for (int i = 0; i < x.length; i++) { x[i] += alpha * p[i]; r[i] -= alpha * ap[i]; }
            double rr2 = dot(r, r);
            double beta = rr2 / rr;
            rr = rr2;
            for (int i = 0; i < p.length; i++) p[i] = r[i] + beta * p[i];
            it++;
        }
        double[] res = fisherVec(x, gamma);
        for (int i = 0; i < res.length; i++) res[i] -= u[i];
        return new CgResult(x, it, Math.sqrt(dot(res, res) / u2));
    }

    // ------------------------------------------------------------------ exact pseudo-inverse (C = I)

    /** G = T* T = sum_i (B_i B_i^T) (x) (A_i^T A_i) as an n^2 x n^2 row-major matrix (vec = row-major). */
    public double[] gram() {
        int q = nn;
        double[] g = new double[q * q];
        for (int i = 0; i < depth; i++) {
            double[] p = mulT(b[i], b[i], n);   // B B^T
            double[] s = mulTA(a[i], a[i], n);  // A^T A
            // vec(P M S) = (P (x) S^T) vec(M) in row-major vec; S symmetric
            for (int r1 = 0; r1 < n; r1++)
                for (int c1 = 0; c1 < n; c1++) {
                    double pv = p[r1 * n + c1];
                    for (int r2 = 0; r2 < n; r2++) {
                        int row = (r1 * n + r2) * q + c1 * n;
                        for (int c2 = 0; c2 < n; c2++) g[row + c2] += pv * s[c2 * n + r2];
                    }
                }
        }
        return g;
    }

    private void factorGram() {
        if (gramChol != null) return;
        if (c != null) throw new UnsupportedOperationException("the pseudo-inverse route needs C = I (population Fisher)");
        double[] g = gram();
        double maxDiag = 0;
        for (int i = 0; i < nn; i++) maxDiag = Math.max(maxDiag, g[i * nn + i]);
        double ridge = 0;
        for (int attempt = 0; attempt < 40; attempt++) {
            double[] l = cholesky(g, nn, ridge);
            if (l != null) {
                gramChol = l;
                gramRidge = ridge;
                return;
            }
            ridge = ridge == 0 ? 1e-15 * maxDiag : ridge * 10;
        }
        throw new IllegalStateException("G is not positive definite even with a ridge of " + ridge);
    }

    /** Solves G x = rhs with the Cholesky factor. */
    private double[] gramSolve(double[] rhs) {
        factorGram();
        double[] y = rhs.clone();
        double[] l = gramChol;
        int q = nn;
        for (int i = 0; i < q; i++) {
            double s = y[i];
            for (int k = 0; k < i; k++) s -= l[i * q + k] * y[k];
            y[i] = s / l[i * q + i];
        }
        for (int i = q - 1; i >= 0; i--) {
            double s = y[i];
            for (int k = i + 1; k < q; k++) s -= l[k * q + i] * y[k];
            y[i] = s / l[i * q + i];
        }
        return y;
    }

    /** The smallest and largest eigenvalue of F restricted to range(T) (weights), i.e. eig(G) / sigma^2. */
    double[] rangeEigenvalueBounds(int iterations) {
        double[] g = gram();
        double[] v = new double[nn];
        Arrays.fill(v, 1);
        double lmax = 0;
        for (int it = 0; it < iterations; it++) {
            double[] gv = matVec(g, v, nn);
            lmax = Math.sqrt(dot(gv, gv) / dot(v, v));
            double s = Math.sqrt(dot(gv, gv));
            for (int i = 0; i < nn; i++) v[i] = gv[i] / s;
        }
        Arrays.fill(v, 1);
        double lmin = 0;
        for (int it = 0; it < iterations; it++) {
            double[] gv = gramSolve(v);
            double s = Math.sqrt(dot(gv, gv));
            lmin = Math.sqrt(dot(v, v)) / s;
            for (int i = 0; i < nn; i++) v[i] = gv[i] / s;
        }
        double s2 = sigma * sigma;
        return new double[] {lmin / s2, lmax / s2};
    }

    /**
     * u^T F^+ u = sigma^2 |G^-1 T* u|^2 (+ u_sigma^2 sigma^2 / (2 n_out)), the Moore-Penrose quadratic form
     * (C = I only). {@code rangeResidualOut}, when not null and of length >= 1, receives
     * |u_w - P u_w| / |u_w|: the part of u's weights outside range(F), for which the undamped auxiliary
     * loss is unbounded below.
     */
    double pseudoInverseQuad(double[] u, double[] rangeResidualOut) {
        checkLen(u);
        double[] mu = gramSolve(tStar(u));
        double q = sigma * sigma * dot(mu, mu);
        if (learnedSigma) {
            double us = u[size() - 1];
            q += us * us * sigma * sigma / (2.0 * n);
        }
        if (rangeResidualOut != null && rangeResidualOut.length > 0) {
            double[] pu = t(mu);
            double e = 0, uw = 0;
            for (int i = 0; i < depth * nn; i++) {
                e += (u[i] - pu[i]) * (u[i] - pu[i]);
                uw += u[i] * u[i];
            }
            rangeResidualOut[0] = uw == 0 ? 0 : Math.sqrt(e / uw);
        }
        return q;
    }

    // ------------------------------------------------------------------ auxiliary loss

    /** A(z; u) = 1/2 z^T (F + gamma I) z - u^T z. */
    double auxLoss(double[] z, double[] u, double gamma) {
        checkLen(z);
        checkLen(u);
        return 0.5 * dot(z, fisherVec(z, gamma)) - dot(u, z);
    }

    /**
     * The exact auxiliary loss of FishLeg's current Q for direction u: z = Q(lambda) u computed by
     * {@link FishLeg#applyQ} on its backend (u rounded to float32 for that), then 1/2 z^T (F + gamma I) z - u^T z
     * in double with this population Fisher and gamma = FishLeg's damping setting.
     */
    double exactAuxLoss(FishLeg fl, double[] u) {
        return auxLoss(applyQ(fl, u), roundToFloat(u), fl.config().damping);
    }

    /** z = Q(lambda) u of a FishLeg instance, in double (u goes through float32). */
    public double[] applyQ(FishLeg fl, double[] u) {
        checkLen(u);
        Backend be = fl.model().backend();
        if (fl.model().paramCount() != size())
            throw new IllegalArgumentException("FishLeg's model has " + fl.model().paramCount() + " parameters, this Fisher " + size());
        float[] uf = new float[u.length];
        for (int i = 0; i < u.length; i++) uf[i] = (float) u[i];
        try (Tensor ut = be.upload(uf, 1, uf.length); Tensor zt = be.zeros(1, uf.length)) {
            fl.applyQ(ut, zt);
            float[] zf = be.download(zt);
            double[] z = new double[zf.length];
            for (int i = 0; i < z.length; i++) z[i] = zf[i];
            return z;
        }
    }

    /**
     * The optimum of the auxiliary loss over unrestricted Q, -1/2 u^T (F + gamma I)^-1 u, with gamma = 0:
     * the pseudo-inverse value (exact, {@link #pseudoInverseQuad}); it is the true infimum when u lies in
     * range(F) and the gamma -&gt; 0+ limit for the range part of u otherwise.
     */
    double auxOptimum(double[] u) { return auxOptimum(u, 0); }

    /**
     * -1/2 u^T (F + gamma I)^-1 u: gamma = 0 by the exact pseudo-inverse route (C = I), gamma &gt; 0 by conjugate
     * gradients (relative residual 1e-10, at most 20,000 iterations; an IllegalStateException when CG does
     * not reach 1e-6).
     */
    double auxOptimum(double[] u, double gamma) {
        if (gamma == 0 && c == null) return -0.5 * pseudoInverseQuad(u, null);
        CgResult r = solve(u, gamma, 1e-10, 20_000);
        if (!(r.relResidual < 1e-6))
            throw new IllegalStateException("CG on F + " + gamma + " I did not converge: relative residual " + r.relResidual
                    + " after " + r.iterations + " iterations");
        return -0.5 * dot(u, r.x);
    }

    // ------------------------------------------------------------------ the training gradient (in range(F))

    /** The full-batch mean NLL and its gradient in double at this network's parameters. */
    public static final class Gradient {
        /** Mean over examples of the NLL summed over outputs. */
        public final double loss;
        /** Flat gradient (weights, then sigma if learned). */
        public final double[] g;
        /** Its function-space factor: g_weights = T m, m = X^T (f - y) / (N sigma^2). */
        public final double[] m;
        Gradient(double loss, double[] g, double[] m) { this.loss = loss; this.g = g; this.m = m; }

        /** |g|. */
        public double norm() { return Math.sqrt(dot(g, g)); }

        /** g / |g|. */
        public double[] unit() {
            double s = norm();
            double[] u = g.clone();
            if (s > 0) for (int i = 0; i < u.length; i++) u[i] /= s;
            return u;
        }
    }

    /** The gradient of the mean NLL on (x, y) (N x n row-major each), computed in double. */
    public Gradient gradient(float[] x, float[] y, int count) {
        if (x.length != count * n || y.length != count * n)
            throw new IllegalArgumentException("x and y must be " + count + " x " + n);
        double[] prod = mul(b[depth - 1], w[depth - 1], n); // W_1 ... W_L
        double s2 = sigma * sigma;
        double[] m = new double[nn];
        double loss = 0, sq = 0;
        double[] e = new double[n];
        for (int k = 0; k < count; k++) {
            for (int j = 0; j < n; j++) {
                double f = 0;
                for (int t = 0; t < n; t++) f += x[k * n + t] * prod[t * n + j];
                e[j] = f - y[k * n + j];
                sq += e[j] * e[j];
            }
            for (int t = 0; t < n; t++) {
                double xv = x[k * n + t];
                for (int j = 0; j < n; j++) m[t * n + j] += xv * e[j];
            }
        }
        for (int i = 0; i < nn; i++) m[i] /= count * s2;
        loss = sq / (2 * s2 * count) + n * (Math.log(sigma) + 0.5 * Math.log(2 * Math.PI));
        double[] g = t(m);
        if (learnedSigma) g[size() - 1] = (count * n / sigma - sq / (s2 * sigma)) / count;
        return new Gradient(loss, g, m);
    }

    // ------------------------------------------------------------------ small dense helpers (n x n row-major)

    private void checkLen(double[] v) {
        if (v.length != size()) throw new IllegalArgumentException("expected a flat vector of " + size() + " values, got " + v.length);
    }

    static double[] roundToFloat(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) r[i] = (float) v[i];
        return r;
    }

    static double dot(double[] x, double[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) s += x[i] * y[i];
        return s;
    }

    private static void addTo(double[] acc, double[] v) {
        for (int i = 0; i < acc.length; i++) acc[i] += v[i];
    }

    static double[] identity(int n) {
        double[] m = new double[n * n];
        for (int i = 0; i < n; i++) m[i * n + i] = 1;
        return m;
    }

    /** a b. */
    static double[] mul(double[] a, double[] b, int n) {
        double[] c = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++) {
                double v = a[i * n + k];
                if (v == 0) continue;
                int bo = k * n, co = i * n;
                for (int j = 0; j < n; j++) c[co + j] += v * b[bo + j];
            }
        return c;
    }

    /** a^T b. */
    static double[] mulTA(double[] a, double[] b, int n) {
        double[] c = new double[n * n];
        for (int k = 0; k < n; k++)
            for (int i = 0; i < n; i++) {
                double v = a[k * n + i];
                if (v == 0) continue;
                int bo = k * n, co = i * n;
                for (int j = 0; j < n; j++) c[co + j] += v * b[bo + j];
            }
        return c;
    }

    /** a b^T. */
    static double[] mulT(double[] a, double[] b, int n) {
        double[] c = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                int ao = i * n, bo = j * n;
                for (int k = 0; k < n; k++) s += a[ao + k] * b[bo + k];
                c[i * n + j] = s;
            }
        return c;
    }

    private static double[] matVec(double[] g, double[] v, int q) {
        double[] r = new double[q];
        for (int i = 0; i < q; i++) {
            double s = 0;
            int o = i * q;
            for (int j = 0; j < q; j++) s += g[o + j] * v[j];
            r[i] = s;
        }
        return r;
    }

    /** Lower Cholesky factor of g + ridge I, or null when it is not numerically positive definite. */
    private static double[] cholesky(double[] g, int q, double ridge) {
        double[] l = new double[q * q];
        for (int j = 0; j < q; j++) {
            double d = g[j * q + j] + ridge;
            for (int k = 0; k < j; k++) d -= l[j * q + k] * l[j * q + k];
            if (!(d > 0)) return null;
            double ljj = Math.sqrt(d);
            l[j * q + j] = ljj;
            for (int i = j + 1; i < q; i++) {
                double s = g[i * q + j];
                for (int k = 0; k < j; k++) s -= l[i * q + k] * l[j * q + k];
                l[i * q + j] = s / ljj;
            }
        }
        return l;
    }
}
