package org.fishleg.optim.fishleg;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.backend.cpu.CpuBackend;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * FishLeg against an independent double-precision FishLeg written here from fishleg-algorithm.md
 * sections 2-4, sharing no maths with production: its own Philox4x32-10 stream, MLP forward and
 * backward, likelihoods and target sampling, Fisher-vector products (the sampled-target Hessian as
 * finite differences of its own gradient, the Gauss-Newton product as J^T H J with J z by finite
 * differences of its forward pass), Q(lambda) = P (x) S with P = L^T L and S = R^T R (full or
 * triangular), the auxiliary-loss gradient from the chain rule through P and S, Adam on lambda, and
 * both step orderings with weight decay in the loss or decoupled. Production and reference start from
 * the same parameters, batches and random stream; after each of three steps (two or three with an
 * auxiliary update) the parameters, the factors and the last lambda gradient must agree to 1e-5
 * relative per block (the displacement theta - theta_0 to 1e-4), and both must have drawn the same
 * random numbers. Low-rank and dense paths are compared to the reference separately, so a mistake
 * they share does not cancel out.
 *
 * <p>Relative error of a block: max |production - reference| / max |reference| over the block.
 */
class FishLegReferenceTest {
    static Backend cpu;

    @BeforeAll static void open() { cpu = new CpuBackend(); }
    @AfterAll static void close() { cpu.close(); }

    static final double TOL = 1e-5;

    // =================================================================== Philox4x32-10 (own copy)

    /** Philox4x32-10 (Salmon et al. SC'11): 10 rounds, key bumped between rounds. */
    static int[] philox(int c0, int c1, int c2, int c3, int k0, int k1) {
        long[] c = {c0 & 0xFFFFFFFFL, c1 & 0xFFFFFFFFL, c2 & 0xFFFFFFFFL, c3 & 0xFFFFFFFFL};
        long a = k0 & 0xFFFFFFFFL, b = k1 & 0xFFFFFFFFL;
        for (int round = 0; round < 10; round++) {
            if (round > 0) {
                a = (a + 0x9E3779B9L) & 0xFFFFFFFFL;
                b = (b + 0xBB67AE85L) & 0xFFFFFFFFL;
            }
            long p0 = 0xD2511F53L * c[0], p1 = 0xCD9E8D57L * c[2]; // 64-bit products of 32-bit words
            long hi0 = p0 >>> 32, lo0 = p0 & 0xFFFFFFFFL, hi1 = p1 >>> 32, lo1 = p1 & 0xFFFFFFFFL;
            c = new long[] {hi1 ^ c[1] ^ a, lo1, hi0 ^ c[3] ^ b, lo0};
        }
        return new int[] {(int) c[0], (int) c[1], (int) c[2], (int) c[3]};
    }

    /**
     * The backends' random stream as the Backend contract states it: key = seed, counter = offset;
     * uniform element i uses counter offset + i/4, word i%4, as (w >>> 8) 2^-24; normal element i uses
     * counter offset + i/2, words 2(i%2) and 2(i%2)+1 through Box-Muller.
     */
    static final class Rng {
        final long seed;
        long offset;
        Rng(long seed, long offset) { this.seed = seed; this.offset = offset; }

        int[] words(long counter) {
            return philox((int) counter, (int) (counter >>> 32), 0, 0, (int) seed, (int) (seed >>> 32));
        }

        double[] uniform(int n) {
            double[] r = new double[n];
            for (int i = 0; i < n; i++) r[i] = (words(offset + i / 4)[i % 4] >>> 8) * 0x1p-24;
            offset += (n + 3) / 4;
            return r;
        }

        double[] normal(int n) {
            double[] r = new double[n];
            for (int i = 0; i < n; i++) {
                int[] w = words(offset + i / 2);
                double u1 = ((w[2 * (i % 2)] >>> 8) + 1) * 0x1p-24, u2 = (w[2 * (i % 2) + 1] >>> 8) * 0x1p-24;
                r[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
            }
            offset += (n + 1) / 2;
            return r;
        }
    }

    @Test
    void ownPhiloxMatchesTheRandom123TestVectors() {
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}, philox(0, 0, 0, 0, 0, 0));
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}, philox(-1, -1, -1, -1, -1, -1));
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                philox(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0));
    }

    // =================================================================== the reference network

    enum Lik { BERNOULLI, GAUSSIAN, SOFTMAX }

    /** A dense network with the production parameter layout: per layer (n_in [+1]) x n_out row-major, bias row 0; sigma last. */
    static final class Net {
        final int[] width;       // n_0 .. n_L
        final String[] act;      // per layer
        final boolean bias;
        final Lik lik;
        final double sigma0, sigmaMin, sigmaMax;
        final boolean learnSigma;
        /** The learned parameter is log sigma (bounds then apply to it in log space). */
        boolean logSigma;
        final int[] off;
        final int size;

        Net(int[] width, String[] act, boolean bias, Lik lik, double sigma0, boolean learnSigma, double sigmaMin, double sigmaMax) {
            this.width = width; this.act = act; this.bias = bias; this.lik = lik;
            this.sigma0 = sigma0; this.learnSigma = learnSigma; this.sigmaMin = sigmaMin; this.sigmaMax = sigmaMax;
            off = new int[act.length];
            int o = 0;
            for (int l = 0; l < act.length; l++) { off[l] = o; o += rows(l) * width[l + 1]; }
            size = o + (learnSigma ? 1 : 0);
        }

        int layers() { return act.length; }
        int rows(int l) { return width[l] + (bias ? 1 : 0); }
        int cols(int l) { return width[l + 1]; }
        /** Index of W_l[r][c] in the flat vector (r counts the bias row). */
        int at(int l, int r, int c) { return off[l] + r * cols(l) + c; }
        double sigma(double[] th) { return learnSigma ? (logSigma ? Math.exp(th[size - 1]) : th[size - 1]) : sigma0; }

        static double phi(String a, double x) {
            switch (a) {
                case "linear": return x;
                case "tanh": return Math.tanh(x);
                case "sigmoid": return 1 / (1 + Math.exp(-x));
                case "softplus": return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
                default: throw new IllegalArgumentException(a);
            }
        }

        static double dphi(String a, double x) {
            switch (a) {
                case "linear": return 1;
                case "tanh": { double t = Math.tanh(x); return 1 - t * t; }
                case "sigmoid": { double s = 1 / (1 + Math.exp(-x)); return s * (1 - s); }
                case "softplus": return 1 / (1 + Math.exp(-x));
                default: throw new IllegalArgumentException(a);
            }
        }

        /** pre[l] and post[l + 1] (post[0] = x) of every layer. */
        double[][][][] forward(double[] th, double[][] x) {
            int n = x.length, nl = layers();
            double[][][] pre = new double[nl][][], post = new double[nl + 1][][];
            post[0] = x;
            for (int l = 0; l < nl; l++) {
                int b = bias ? 1 : 0;
                pre[l] = new double[n][cols(l)];
                post[l + 1] = new double[n][cols(l)];
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < cols(l); j++) {
                        double s = bias ? th[at(l, 0, j)] : 0;
                        for (int k = 0; k < width[l]; k++) s += post[l][i][k] * th[at(l, k + b, j)];
                        pre[l][i][j] = s;
                        post[l + 1][i][j] = phi(act[l], s);
                    }
            }
            return new double[][][][] {pre, post};
        }

        double[][] output(double[] th, double[][] x) {
            double[][][][] fw = forward(th, x);
            return fw[1][layers()];
        }

        static double[] softmax(double[] f) {
            double mx = Double.NEGATIVE_INFINITY;
            for (double v : f) mx = Math.max(mx, v);
            double s = 0;
            double[] p = new double[f.length];
            for (int j = 0; j < f.length; j++) { p[j] = Math.exp(f[j] - mx); s += p[j]; }
            for (int j = 0; j < f.length; j++) p[j] /= s;
            return p;
        }

        /** Mean over rows of the row NLL summed over outputs. */
        double nll(double[] th, double[][] x, double[][] y) {
            double[][] f = output(th, x);
            double sig = sigma(th), s = 0;
            for (int i = 0; i < f.length; i++) {
                if (lik == Lik.SOFTMAX) {
                    double mx = Double.NEGATIVE_INFINITY;
                    for (double v : f[i]) mx = Math.max(mx, v);
                    double se = 0;
                    for (double v : f[i]) se += Math.exp(v - mx);
                    s += mx + Math.log(se);
                    for (int j = 0; j < f[i].length; j++) s -= y[i][j] * f[i][j];
                } else {
                    for (int j = 0; j < f[i].length; j++) {
                        double v = f[i][j];
                        if (lik == Lik.BERNOULLI) s += (v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v))) - y[i][j] * v;
                        else s += (y[i][j] - v) * (y[i][j] - v) / (2 * sig * sig) + Math.log(sig) + 0.5 * Math.log(2 * Math.PI);
                    }
                }
            }
            return s / f.length;
        }

        /** d (sum_ij cot_ij f_ij) / d(layer parameters), by back-propagation (sigma entry left 0). */
        double[] vjp(double[] th, double[][][][] fw, double[][] cot) {
            double[][][] pre = fw[0], post = fw[1];
            int n = cot.length, b = bias ? 1 : 0;
            double[] g = new double[size];
            int top = layers() - 1;
            double[][] delta = new double[n][cols(top)];
            for (int i = 0; i < n; i++) for (int j = 0; j < cols(top); j++) delta[i][j] = cot[i][j] * dphi(act[top], pre[top][i][j]);
            for (int l = top; l >= 0; l--) {
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < cols(l); j++) {
                        if (bias) g[at(l, 0, j)] += delta[i][j];
                        for (int k = 0; k < width[l]; k++) g[at(l, k + b, j)] += post[l][i][k] * delta[i][j];
                    }
                if (l > 0) {
                    double[][] below = new double[n][width[l]];
                    for (int i = 0; i < n; i++)
                        for (int k = 0; k < width[l]; k++) {
                            double s = 0;
                            for (int j = 0; j < cols(l); j++) s += delta[i][j] * th[at(l, k + b, j)];
                            below[i][k] = s * dphi(act[l - 1], pre[l - 1][i][k]);
                        }
                    delta = below;
                }
            }
            return g;
        }

        /** Gradient of {@link #nll} with respect to all parameters (sigma included when learned). */
        double[] grad(double[] th, double[][] x, double[][] y) {
            double[][][][] fw = forward(th, x);
            double[][] f = fw[1][layers()];
            int n = f.length;
            double sig = sigma(th);
            double[][] cot = new double[n][];
            for (int i = 0; i < n; i++) {
                cot[i] = new double[f[i].length];
                double[] p = lik == Lik.SOFTMAX ? softmax(f[i]) : null;
                for (int j = 0; j < f[i].length; j++) {
                    double d;
                    if (lik == Lik.BERNOULLI) d = 1 / (1 + Math.exp(-f[i][j])) - y[i][j];
                    else if (lik == Lik.GAUSSIAN) d = (f[i][j] - y[i][j]) / (sig * sig);
                    else d = p[j] - y[i][j];
                    cot[i][j] = d / n;
                }
            }
            double[] g = vjp(th, fw, cot);
            if (learnSigma) {
                double s = 0;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < f[i].length; j++) {
                        double r = y[i][j] - f[i][j];
                        s += 1 / sig - r * r / (sig * sig * sig);
                    }
                g[size - 1] = s / n * (logSigma ? sig : 1); // chain rule through sigma = exp(log sigma)
            }
            return g;
        }

        /**
         * y ~ p(y | x, th) from the stream, exactly as the Backend contract describes sampleTargets: one
         * fill of the batch x n_out noise per call (uniform for Bernoulli and softmax, normal for Gaussian).
         * Also returns the smallest distance of a uniform draw from a decision threshold.
         */
        double[][] sample(double[] th, double[][] x, Rng rng, double[] margin) {
            double[][] f = output(th, x);
            int n = f.length, k = f[0].length;
            double[] noise = lik == Lik.GAUSSIAN ? rng.normal(n * k) : rng.uniform(n * k);
            double[][] y = new double[n][k];
            double sig = sigma(th);
            for (int i = 0; i < n; i++) {
                if (lik == Lik.SOFTMAX) {
                    double u = noise[i * k], c = 0;
                    double[] p = softmax(f[i]);
                    int pick = k - 1;
                    for (int j = 0; j < k; j++) {
                        c += p[j];
                        if (j < k - 1) margin[0] = Math.min(margin[0], Math.abs(c - u));
                        if (c > u) { pick = j; break; }
                    }
                    y[i][pick] = 1;
                } else {
                    for (int j = 0; j < k; j++) {
                        if (lik == Lik.BERNOULLI) {
                            double p = 1 / (1 + Math.exp(-f[i][j]));
                            margin[0] = Math.min(margin[0], Math.abs(noise[i * k + j] - p));
                            y[i][j] = noise[i * k + j] < p ? 1 : 0;
                        } else {
                            y[i][j] = f[i][j] + sig * noise[i * k + j];
                        }
                    }
                }
            }
            return y;
        }

        /**
         * (H + gamma I) z with H the Hessian of the mean NLL on the fixed targets y: central differences
         * (5-point stencil, O(h^4)) of the analytic gradient along z.
         */
        double[] hessianVec(double[] th, double[][] x, double[][] y, double[] z, double gamma) {
            double h = 1e-3 / Math.max(maxAbs(z), 1e-300);
            double[][] g = new double[4][];
            double[] steps = {-2, -1, 1, 2};
            for (int s = 0; s < 4; s++) g[s] = grad(axpy(steps[s] * h, z, th), x, y);
            double[] out = new double[size];
            for (int i = 0; i < size; i++) out[i] = (g[0][i] - 8 * g[1][i] + 8 * g[2][i] - g[3][i]) / (12 * h) + gamma * z[i];
            return out;
        }

        /**
         * (J^T H_out J / N + gamma I) z: J z by central differences of the forward pass, H_out the output
         * Hessian of the row NLL (p(1-p), 1/sigma^2, diag(p) - p p^T), J^T by back-propagation; a learned
         * sigma adds its Fisher 2 n_out / sigma^2.
         */
        double[] gaussNewtonVec(double[] th, double[][] x, double[] z, double gamma) {
            int top = layers();
            double h = 1e-3 / Math.max(maxAbs(z), 1e-300);
            double[][][] f = new double[4][][];
            double[] steps = {-2, -1, 1, 2};
            for (int s = 0; s < 4; s++) f[s] = output(axpy(steps[s] * h, z, th), x);
            double[][][][] fw = forward(th, x);
            double[][] f0 = fw[1][top];
            int n = f0.length, k = f0[0].length;
            double sig = sigma(th);
            double[][] cot = new double[n][k];
            for (int i = 0; i < n; i++) {
                double[] jz = new double[k];
                for (int j = 0; j < k; j++) jz[j] = (f[0][i][j] - 8 * f[1][i][j] + 8 * f[2][i][j] - f[3][i][j]) / (12 * h);
                if (lik == Lik.SOFTMAX) {
                    double[] p = softmax(f0[i]);
                    double pj = 0;
                    for (int j = 0; j < k; j++) pj += p[j] * jz[j];
                    for (int j = 0; j < k; j++) cot[i][j] = (p[j] * jz[j] - p[j] * pj) / n;
                } else {
                    for (int j = 0; j < k; j++) {
                        double hout;
                        if (lik == Lik.BERNOULLI) { double p = 1 / (1 + Math.exp(-f0[i][j])); hout = p * (1 - p); }
                        else hout = 1 / (sig * sig);
                        cot[i][j] = hout * jz[j] / n;
                    }
                }
            }
            double[] out = vjp(th, fw, cot);
            // Fisher of sigma 2 n_out / sigma^2; of log sigma (sigma^2 times that) 2 n_out
            if (learnSigma) out[size - 1] = (logSigma ? 2.0 * k : 2.0 * k / (sig * sig)) * z[size - 1];
            for (int i = 0; i < size; i++) out[i] += gamma * z[i];
            return out;
        }
    }

    // =================================================================== small dense helpers

    static double maxAbs(double[] a) { double m = 0; for (double v : a) m = Math.max(m, Math.abs(v)); return m; }

    static double[] axpy(double a, double[] x, double[] y) {
        double[] r = y.clone();
        for (int i = 0; i < r.length; i++) r[i] += a * x[i];
        return r;
    }

    static double norm(double[] a) { double s = 0; for (double v : a) s += v * v; return Math.sqrt(s); }

    static double[][] block(double[] flat, int off, int r, int c) {
        double[][] m = new double[r][c];
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) m[i][j] = flat[off + i * c + j];
        return m;
    }

    static void put(double[][] m, double[] flat, int off) {
        int c = m[0].length;
        for (int i = 0; i < m.length; i++) for (int j = 0; j < c; j++) flat[off + i * c + j] = m[i][j];
    }

    static double[][] mul(double[][] a, double[][] b) {
        int n = a.length, k = b.length, m = b[0].length;
        double[][] r = new double[n][m];
        for (int i = 0; i < n; i++) for (int q = 0; q < k; q++) for (int j = 0; j < m; j++) r[i][j] += a[i][q] * b[q][j];
        return r;
    }

    static double[][] tr(double[][] a) {
        double[][] r = new double[a[0].length][a.length];
        for (int i = 0; i < a.length; i++) for (int j = 0; j < a[0].length; j++) r[j][i] = a[i][j];
        return r;
    }

    static double[][] plusTr(double[][] a) {
        double[][] r = new double[a.length][a.length];
        for (int i = 0; i < a.length; i++) for (int j = 0; j < a.length; j++) r[i][j] = a[i][j] + a[j][i];
        return r;
    }

    // =================================================================== the reference FishLeg

    /** Q(lambda) as the doc defines it: per layer U -> (L^T L) U (R^T R); a learned sigma gets lambda^2. */
    static final class Factors {
        final Net net;
        final boolean triangular;
        final int[] lOff, rOff;
        final int size;

        Factors(Net net, boolean triangular) {
            this.net = net;
            this.triangular = triangular;
            lOff = new int[net.layers()];
            rOff = new int[net.layers()];
            int o = 0;
            for (int l = 0; l < net.layers(); l++) {
                lOff[l] = o; o += net.rows(l) * net.rows(l);
                rOff[l] = o; o += net.cols(l) * net.cols(l);
            }
            size = o + (net.learnSigma ? 1 : 0);
        }

        double[] initial(double s) {
            double q = Math.pow(s, 0.25);
            double[] lam = new double[size];
            for (int l = 0; l < net.layers(); l++) {
                for (int i = 0; i < net.rows(l); i++) lam[lOff[l] + i * net.rows(l) + i] = q;
                for (int i = 0; i < net.cols(l); i++) lam[rOff[l] + i * net.cols(l) + i] = q;
            }
            if (net.learnSigma) lam[size - 1] = Math.sqrt(s);
            return lam;
        }

        /** Whether lambda entry i is a free parameter (false below L's and above R's diagonal when triangular). */
        boolean free(int i) {
            if (!triangular) return true;
            for (int l = 0; l < net.layers(); l++) {
                int n1 = net.rows(l), n2 = net.cols(l);
                if (i >= lOff[l] && i < lOff[l] + n1 * n1) return (i - lOff[l]) % n1 >= (i - lOff[l]) / n1;
                if (i >= rOff[l] && i < rOff[l] + n2 * n2) return (i - rOff[l]) % n2 <= (i - rOff[l]) / n2;
            }
            return true;
        }

        double[][] L(double[] lam, int l) { return block(lam, lOff[l], net.rows(l), net.rows(l)); }
        double[][] R(double[] lam, int l) { return block(lam, rOff[l], net.cols(l), net.cols(l)); }

        double[] apply(double[] lam, double[] v) {
            double[] out = new double[net.size];
            for (int l = 0; l < net.layers(); l++) {
                double[][] L = L(lam, l), R = R(lam, l);
                double[][] u = block(v, net.off[l], net.rows(l), net.cols(l));
                put(mul(mul(mul(tr(L), L), u), mul(tr(R), R)), out, net.off[l]);
            }
            if (net.learnSigma) out[net.size - 1] = lam[size - 1] * lam[size - 1] * v[net.size - 1];
            return out;
        }

        /**
         * grad_lambda of A = 1/2 z^T F z - u^T z, z = Q u, given d = F z - u (F symmetric): dA = d^T dz.
         * With z = P U S: dA/dP = D (U S)^T, dA/dS = (P U)^T D; through P = L^T L and S = R^T R,
         * dA/dL = L (G + G^T) for G = dA/dP, likewise R. Triangular factors keep their triangle.
         */
        double[] auxGrad(double[] lam, double[] u, double[] d) {
            double[] g = new double[size];
            for (int l = 0; l < net.layers(); l++) {
                double[][] L = L(lam, l), R = R(lam, l), P = mul(tr(L), L), S = mul(tr(R), R);
                double[][] U = block(u, net.off[l], net.rows(l), net.cols(l)), D = block(d, net.off[l], net.rows(l), net.cols(l));
                double[][] gP = mul(D, tr(mul(U, S))), gS = mul(tr(mul(P, U)), D);
                double[][] gL = mul(L, plusTr(gP)), gR = mul(R, plusTr(gS));
                if (triangular) {
                    for (int i = 0; i < gL.length; i++) for (int j = 0; j < i; j++) gL[i][j] = 0;       // L upper
                    for (int i = 0; i < gR.length; i++) for (int j = i + 1; j < gR.length; j++) gR[i][j] = 0; // R lower
                }
                put(gL, g, lOff[l]);
                put(gR, g, rOff[l]);
            }
            if (net.learnSigma) g[size - 1] = d[net.size - 1] * 2 * lam[size - 1] * u[net.size - 1];
            return g;
        }
    }

    /** The reference optimizer; hyper-parameters are the float config values widened to double. */
    static final class RefFishLeg {
        final Net net;
        final FishLegConfig cfg;
        final Factors q;
        final Rng rng;
        final double[][][] auxBatches;
        int auxNext;
        double[] theta, lam, lamM, lamV, gbar, mom, lastLamGrad;
        long step, auxSteps;
        double sampleMargin = Double.POSITIVE_INFINITY;

        RefFishLeg(Net net, FishLegConfig cfg, double[] theta0, Rng rng, double[][][] auxBatches) {
            this.net = net; this.cfg = cfg; this.rng = rng; this.auxBatches = auxBatches;
            q = new Factors(net, cfg.factor == FishLegConfig.Factor.TRIANGULAR);
            theta = theta0.clone();
            lam = q.initial(cfg.initScale);
            lamM = new double[q.size];
            lamV = new double[q.size];
            gbar = new double[net.size];
            mom = new double[net.size];
        }

        /** (F + gamma I) z on the auxiliary inputs with the configured Fisher estimator. */
        double[] fisher(double[] th, double[][] xa, double[] z) {
            if (cfg.fisher == FishLegConfig.FisherProduct.GAUSS_NEWTON) return net.gaussNewtonVec(th, xa, z, cfg.damping);
            double[] m = {Double.POSITIVE_INFINITY};
            double[][] ya = net.sample(th, xa, rng, m);
            if (net.lik != Lik.GAUSSIAN) sampleMargin = Math.min(sampleMargin, m[0]);
            return net.hessianVec(th, xa, ya, z, cfg.damping);
        }

        void step(double[][] x, double[][] y) {
            double wd = cfg.weightDecay, beta = cfg.beta, lr = cfg.lr;
            boolean auxNow = cfg.auxLr > 0 && (step > 0 || cfg.auxAtStepZero) && step % cfg.auxEvery == 0;
            double[] g = net.grad(theta, x, y);
            if (!cfg.decoupledWeightDecay) g = axpy(wd, theta, g);          // wd/2 |theta|^2 in the loss
            for (int i = 0; i < g.length; i++) gbar[i] = beta * gbar[i] + (1 - beta) * g[i];
            if (auxNow) {
                double[] src = cfg.auxDirection == FishLegConfig.AuxDirection.MOMENTUM_GRADIENT ? gbar : g;
                double[] u = src.clone();
                double nu = norm(u);
                for (int i = 0; i < u.length; i++) u[i] /= nu;
                double[][] xa = auxBatches[auxNext++ % auxBatches.length];
                double[] z = q.apply(lam, u);
                double[] d = axpy(-1, u, fisher(theta, xa, z));
                lastLamGrad = q.auxGrad(lam, u, d);
                adam(lastLamGrad);
                auxSteps++;
            }
            boolean onGradient = cfg.ordering == FishLegConfig.Ordering.MOMENTUM_ON_GRADIENT;
            double[] dir = q.apply(lam, onGradient ? gbar : g);  // with the just-updated lambda
            if (cfg.maxStepNorm > 0) {                           // step safeguard: ||dir|| <= T
                double k = Math.min(1, cfg.maxStepNorm / norm(dir));
                for (int i = 0; i < dir.length; i++) dir[i] *= k;
            }
            if (!onGradient) {
                for (int i = 0; i < dir.length; i++) mom[i] = beta * mom[i] + (1 - beta) * dir[i];
                dir = mom;
            }
            double dwd = cfg.decoupledWeightDecay ? wd : 0;
            for (int i = 0; i < theta.length; i++) theta[i] -= lr * (dir[i] + dwd * theta[i]);
            if (net.learnSigma) {
                double lo = net.logSigma ? Math.log(net.sigmaMin) : net.sigmaMin, hi = net.logSigma ? Math.log(net.sigmaMax) : net.sigmaMax;
                theta[net.size - 1] = Math.min(hi, Math.max(lo, theta[net.size - 1]));
            }
            step++;
        }

        /** Adam with L2 weight decay on lambda and bias corrections. */
        void adam(double[] g) {
            double b1 = cfg.auxBeta1, b2 = cfg.auxBeta2, t = auxSteps + 1;
            double bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t);
            for (int i = 0; i < lam.length; i++) {
                double gi = g[i] + cfg.auxWeightDecay * lam[i];
                lamM[i] = b1 * lamM[i] + (1 - b1) * gi;
                lamV[i] = b2 * lamV[i] + (1 - b2) * gi * gi;
                lam[i] -= cfg.auxLr * (lamM[i] / bc1) / (Math.sqrt(lamV[i] / bc2) + cfg.auxEps);
            }
        }
    }

    // =================================================================== problem set-up

    /** A network, its data and a FishLeg configuration. */
    static final class Case {
        final String name, spec;
        final Likelihood lik;
        final int batch, auxBatch;
        final FishLegConfig cfg;
        final boolean lowRankExpected;

        Case(String name, String spec, Likelihood lik, int batch, int auxBatch, boolean lowRankExpected, FishLegConfig.Builder b) {
            this.name = name; this.spec = spec; this.lik = lik; this.batch = batch; this.auxBatch = auxBatch;
            this.lowRankExpected = lowRankExpected;
            this.cfg = b.auxBatchSize(auxBatch).build();
        }

        @Override public String toString() { return name; }
    }

    /** Large steps and a fast auxiliary learning rate, so that every term moves the parameters visibly. */
    static FishLegConfig.Builder base() {
        return FishLegConfig.builder().lr(0.2f).initScale(0.5f).beta(0.6f).auxLr(0.05f).auxBetas(0.9f, 0.999f)
                .auxEps(1e-6f).damping(0.1f).weightDecay(0.05f).auxEvery(2).auxAtStepZero(true);
    }

    static FishLegConfig.Builder jax(FishLegConfig.Builder b) {
        return b.ordering(FishLegConfig.Ordering.MOMENTUM_ON_GRADIENT).auxDirection(FishLegConfig.AuxDirection.MOMENTUM_GRADIENT);
    }

    static FishLegConfig.Builder ocaml(FishLegConfig.Builder b) {
        return b.ordering(FishLegConfig.Ordering.MOMENTUM_ON_NATURAL_GRADIENT).auxDirection(FishLegConfig.AuxDirection.CURRENT_GRADIENT)
                .decoupledWeightDecay(true);
    }

    static final String SPEC = "5-7:tanh-6:softplus-4:linear";
    static final FishLegConfig.FisherProduct SAMPLED = FishLegConfig.FisherProduct.SAMPLED_HESSIAN, GN = FishLegConfig.FisherProduct.GAUSS_NEWTON;
    static final FishLegConfig.Factor FULL = FishLegConfig.Factor.FULL, TRI = FishLegConfig.Factor.TRIANGULAR;

    static Stream<Arguments> cases() {
        Likelihood bern = Likelihood.bernoulli(), soft = Likelihood.softmax(), gauss = Likelihood.gaussian(0.7f);
        Likelihood learned = Likelihood.gaussianLearned(0.8f, 1e-4f, 10f);
        Likelihood logSigma = Likelihood.gaussianLogSigma(0.8f, 1e-4f, 10f);
        List<Case> c = new ArrayList<>();
        // momentum on the gradient (JAX): Q gbar, u = gbar / |gbar| or g / |g|
        c.add(new Case("jax, full, sampled Hessian, Bernoulli, wd in loss", SPEC, bern, 6, 5, false,
                jax(base()).factor(FULL).fisher(SAMPLED)));
        c.add(new Case("jax, triangular, Gauss-Newton, learned sigma, u = g/|g|, decoupled wd, aux at steps 1 and 2", SPEC, learned, 6, 6, false,
                jax(base()).auxDirection(FishLegConfig.AuxDirection.CURRENT_GRADIENT).factor(TRI).fisher(GN)
                        .decoupledWeightDecay(true).auxEvery(1).auxAtStepZero(false)));
        c.add(new Case("jax, full, sampled Hessian, softmax, no weight decay", SPEC, soft, 5, 4, false,
                jax(base()).factor(FULL).fisher(SAMPLED).weightDecay(0f).auxEvery(1)));
        // momentum on Q g (OCaml): low-rank and dense paths each against the reference
        for (boolean low : new boolean[] {true, false}) {
            String path = low ? "low-rank" : "dense";
            c.add(new Case("ocaml, triangular, sampled Hessian, Bernoulli, aux batch = batch, " + path, SPEC, bern, 4, 4, low,
                    ocaml(base()).factor(TRI).fisher(SAMPLED).auxEps(1e-4f).auxWeightDecay(1e-2f).lowRank(low)));
            c.add(new Case("ocaml, full, sampled Hessian, learned sigma, " + path, SPEC, learned, 3, 5, low,
                    ocaml(base()).factor(FULL).fisher(SAMPLED).lowRank(low)));
            c.add(new Case("ocaml, triangular, Gauss-Newton, log sigma, step safeguard, " + path, SPEC, logSigma, 4, 5, low,
                    ocaml(base()).factor(TRI).fisher(GN).weightDecay(0f).auxEvery(1).maxStepNorm(0.3f).lowRank(low)));
            c.add(new Case("ocaml, full, sampled Hessian, log sigma, " + path, SPEC, logSigma, 3, 5, low,
                    ocaml(base()).factor(FULL).fisher(SAMPLED).lowRank(low)));
            c.add(new Case("ocaml, full, Gauss-Newton, softmax, aux every step, " + path, SPEC, soft, 4, 3, low,
                    ocaml(base()).factor(FULL).fisher(GN).weightDecay(0f).auxEvery(1).lowRank(low)));
            c.add(new Case("ocaml, triangular, Gauss-Newton, Gaussian, no bias, " + path, "5-8:tanh-6:sigmoid-4:linear/nobias", gauss, 2, 3, low,
                    ocaml(base()).factor(TRI).fisher(GN).damping(0f).lowRank(low)));
        }
        c.add(new Case("ocaml ordering, full, sampled Hessian, Gaussian sigmoid output, wd in loss (dense)", "5-7:tanh-4:sigmoid", gauss, 4, 4, false,
                ocaml(base()).factor(FULL).fisher(SAMPLED).decoupledWeightDecay(false)));
        c.add(new Case("ocaml ordering, triangular, u = gbar/|gbar|, sampled Hessian, Bernoulli (dense)", SPEC, bern, 4, 5, false,
                ocaml(base()).auxDirection(FishLegConfig.AuxDirection.MOMENTUM_GRADIENT).factor(TRI).fisher(SAMPLED)));
        return c.stream().map(Arguments::of);
    }

    static Net refNet(MlpSpec spec, Likelihood lik) {
        int nl = spec.layers().size();
        int[] w = new int[nl + 1];
        String[] act = new String[nl];
        w[0] = spec.inputSize();
        for (int l = 0; l < nl; l++) {
            w[l + 1] = spec.layers().get(l).out;
            act[l] = spec.layers().get(l).activation.name().toLowerCase(Locale.ROOT).replace("identity", "linear");
        }
        Lik k = Lik.valueOf(lik.kind.name());
        Net net = new Net(w, act, spec.layers().get(0).bias, k, lik.sigma, lik.learnSigma, lik.sigmaMin, lik.sigmaMax);
        net.logSigma = lik.logSigma;
        return net;
    }

    /** Parameters with non-zero biases, rounded to float so both sides start from the same values. */
    static double[] initialParams(Net net, Random r) {
        double[] th = new double[net.size];
        for (int l = 0; l < net.layers(); l++)
            for (int i = 0; i < net.rows(l); i++)
                for (int j = 0; j < net.cols(l); j++) {
                    boolean biasRow = net.bias && i == 0;
                    th[net.at(l, i, j)] = (float) (r.nextGaussian() * (biasRow ? 0.3 : 1.2 / Math.sqrt(net.width[l])));
                }
        if (net.learnSigma) th[net.size - 1] = (float) (net.logSigma ? Math.log(net.sigma0) : net.sigma0);
        return th;
    }

    static double[][] inputs(Random r, int n, int k) {
        double[][] x = new double[n][k];
        for (double[] row : x) for (int j = 0; j < k; j++) row[j] = (float) r.nextGaussian();
        return x;
    }

    static double[][] targets(Random r, Lik lik, int n, int k) {
        double[][] y = new double[n][k];
        for (double[] row : y) {
            if (lik == Lik.SOFTMAX) row[r.nextInt(k)] = 1;
            else for (int j = 0; j < k; j++) row[j] = lik == Lik.BERNOULLI ? (r.nextBoolean() ? 1 : 0) : (float) r.nextGaussian();
        }
        return y;
    }

    static float[] flat(double[][] a) {
        float[] f = new float[a.length * a[0].length];
        for (int i = 0; i < a.length; i++) for (int j = 0; j < a[0].length; j++) f[i * a[0].length + j] = (float) a[i][j];
        return f;
    }

    static float[] toFloat(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }

    /** Hands out the given auxiliary batches in turn. */
    static final class ListAux implements AuxBatchSource {
        final float[][] batches; int next;
        ListAux(float[][] batches) { this.batches = batches; }
        @Override public void next(Tensor x) { cpu.upload(batches[next++ % batches.length], x); }
    }

    /** max |a - b| / max |b| over [off, off + n). */
    static double relErr(float[] a, double[] b, int off, int n) {
        double num = 0, den = 0;
        for (int i = off; i < off + n; i++) { num = Math.max(num, Math.abs(a[i] - b[i])); den = Math.max(den, Math.abs(b[i])); }
        return den == 0 ? num : num / den;
    }

    /** Per-block relative errors of the flat parameter layout; returns the worst, asserts each. */
    static double compareParams(String what, Net net, float[] got, double[] want, double tol) {
        double worst = 0;
        for (int l = 0; l < net.layers(); l++) {
            double e = relErr(got, want, net.off[l], net.rows(l) * net.cols(l));
            assertTrue(e < tol, what + ", layer " + l + ": relative error " + e);
            worst = Math.max(worst, e);
        }
        if (net.learnSigma) {
            double e = relErr(got, want, net.size - 1, 1);
            assertTrue(e < tol, what + ", sigma: relative error " + e);
            worst = Math.max(worst, e);
        }
        return worst;
    }

    static double compareFactors(String what, Factors q, float[] got, double[] want, double tol) {
        double worst = 0;
        for (int l = 0; l < q.net.layers(); l++) {
            double eL = relErr(got, want, q.lOff[l], q.net.rows(l) * q.net.rows(l));
            double eR = relErr(got, want, q.rOff[l], q.net.cols(l) * q.net.cols(l));
            assertTrue(eL < tol, what + ", L_" + l + ": relative error " + eL);
            assertTrue(eR < tol, what + ", R_" + l + ": relative error " + eR);
            worst = Math.max(worst, Math.max(eL, eR));
        }
        if (q.net.learnSigma) {
            double e = relErr(got, want, q.size - 1, 1);
            assertTrue(e < tol, what + ", sigma block: relative error " + e);
            worst = Math.max(worst, e);
        }
        return worst;
    }

    // =================================================================== production vs reference

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void threeStepsMatchTheReference(Case c) {
        MlpSpec spec = MlpSpec.parse(c.spec);
        Net net = refNet(spec, c.lik);
        Random r = new Random(c.name.hashCode()); // data and stream seeded by the case name
        double[] theta0 = initialParams(net, r);
        int in = spec.inputSize(), out = spec.outputSize();
        int steps = 3;
        double[][][] xs = new double[steps][][], ys = new double[steps][][];
        for (int s = 0; s < steps; s++) { xs[s] = inputs(r, c.batch, in); ys[s] = targets(r, net.lik, c.batch, out); }
        double[][][] xa = new double[3][][];
        float[][] xaFlat = new float[3][];
        for (int k = 0; k < 3; k++) { xa[k] = inputs(r, c.auxBatch, in); xaFlat[k] = flat(xa[k]); }
        long seed = 0x5EED0000L + c.name.length(), offset0 = 1000;

        RefFishLeg ref = new RefFishLeg(net, c.cfg, theta0, new Rng(seed, offset0), xa);
        double worstP = 0, worstL = 0, worstG = 0, worstD = 0;
        try (Mlp m = new Mlp(cpu, spec, c.lik); FishLeg fl = new FishLeg(m, c.cfg, new ListAux(xaFlat));
             Tensor loss = cpu.zeros(1, 1)) {
            assertEquals(c.lowRankExpected, fl.lowRankApplies(c.batch), c + ": low-rank path chosen");
            cpu.upload(toFloat(theta0), m.params());
            cpu.setRngState(seed, offset0);
            for (int s = 0; s < steps; s++) {
                long aux0 = ref.auxSteps;
                ref.step(xs[s], ys[s]);
                boolean aux = ref.auxSteps > aux0;
                assertTrue(ref.sampleMargin > 1e-4, c + ": a sampled target sits " + ref.sampleMargin
                        + " from its threshold, too close for float vs double to agree: change the seed");
                try (Tensor x = cpu.upload(flat(xs[s]), c.batch, in); Tensor y = cpu.upload(flat(ys[s]), c.batch, out)) {
                    fl.step(m, x, y, loss);
                }
                String at = c + ", after step " + s;
                assertEquals(ref.auxSteps, fl.auxStepCount(), at + ": auxiliary updates");
                assertEquals(ref.rng.offset, cpu.rngOffset(), at + ": random numbers drawn");
                // most specific first: the lambda gradient, then lambda, then the parameters
                if (aux) worstG = Math.max(worstG, compareFactors(at + ", lambda gradient", ref.q, cpu.download(fl.lambdaGradient()), ref.lastLamGrad, TOL));
                worstL = Math.max(worstL, compareFactors(at + ", lambda", ref.q, cpu.download(fl.lambda()), ref.lam, TOL));
                float[] p = cpu.download(m.params());
                worstP = Math.max(worstP, compareParams(at + ", parameters", net, p, ref.theta, TOL));
                // the displacement from the start, so that an error in a small step is not hidden by theta
                float[] dp = new float[p.length];
                double[] dref = new double[p.length];
                for (int i = 0; i < p.length; i++) { dp[i] = (float) (p[i] - theta0[i]); dref[i] = ref.theta[i] - theta0[i]; }
                worstD = Math.max(worstD, compareParams(at + ", theta - theta_0", net, dp, dref, 1e-4));
            }
        }
        System.out.printf(Locale.ROOT, "reference %-100s params %.1e  theta-theta0 %.1e  lambda %.1e  lambda grad %.1e%n",
                c, worstP, worstD, worstL, worstG);
    }

    // =================================================================== the auxiliary update ignores |g|

    /**
     * u = g / |g|: with a Gaussian likelihood and the Gauss-Newton product (which does not see the
     * targets), moving the targets to y' = f + 1000 (y - f) multiplies the batch gradient by exactly 1000
     * and leaves F alone, so the first auxiliary update (its lambda gradient and lambda) must not change.
     * An un-normalised u would scale the lambda gradient by 10^6. Dense and low-rank paths.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("scaleCases")
    void auxiliaryUpdateDoesNotDependOnTheGradientScale(String name, FishLegConfig cfg, boolean lowRank) {
        MlpSpec spec = MlpSpec.parse(SPEC);
        Likelihood lik = Likelihood.gaussian(1f);
        Net net = refNet(spec, lik);
        Random r = new Random(31);
        int n = 3, in = spec.inputSize(), out = spec.outputSize();
        double[] theta0 = initialParams(net, r);
        double[][] x = inputs(r, n, in), y = targets(r, Lik.GAUSSIAN, n, out);
        double[][] f = net.output(theta0, x);
        double[][] yBig = new double[n][out];
        for (int i = 0; i < n; i++) for (int j = 0; j < out; j++) yBig[i][j] = f[i][j] + 1000 * (y[i][j] - f[i][j]);
        float[] xa = flat(inputs(r, cfg.auxBatchSize, in));
        float[][] lamGrad = new float[2][], lam = new float[2][];
        double[] gradNorm = new double[2];
        for (int k = 0; k < 2; k++) {
            try (Mlp m = new Mlp(cpu, spec, lik); FishLeg fl = new FishLeg(m, cfg, new ListAux(new float[][] {xa}));
                 Tensor xt = cpu.upload(flat(x), n, in); Tensor yt = cpu.upload(flat(k == 0 ? y : yBig), n, out);
                 Tensor loss = cpu.zeros(1, 1)) {
                assertEquals(lowRank, fl.lowRankApplies(n), name + ": low-rank path chosen");
                cpu.upload(toFloat(theta0), m.params());
                fl.step(m, xt, yt, loss);
                assertEquals(1, fl.auxStepCount());
                lamGrad[k] = cpu.download(fl.lambdaGradient());
                lam[k] = cpu.download(fl.lambda());
            }
            gradNorm[k] = norm(net.grad(theta0, x, k == 0 ? y : yBig));
        }
        assertEquals(1000, gradNorm[1] / gradNorm[0], 1e-6, "the targets scale the gradient by 1000");
        Factors q = new Factors(net, cfg.factor == FishLegConfig.Factor.TRIANGULAR);
        compareFactors(name + ": lambda gradient with the gradient scaled by 1000", q, lamGrad[1], toDouble(lamGrad[0]), TOL);
        compareFactors(name + ": lambda with the gradient scaled by 1000", q, lam[1], toDouble(lam[0]), TOL);
    }

    static Stream<Arguments> scaleCases() {
        return Stream.of(
                Arguments.of("jax, u = gbar / |gbar|, full", jax(scaleBase()).factor(FULL).build(), false),
                Arguments.of("ocaml, triangular, dense", ocaml(scaleBase()).factor(TRI).lowRank(false).build(), false),
                Arguments.of("ocaml, full, low-rank", ocaml(scaleBase()).factor(FULL).lowRank(true).build(), true));
    }

    static FishLegConfig.Builder scaleBase() {
        return base().fisher(GN).weightDecay(0f).auxBatchSize(4).auxEps(1e-3f);
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    // =================================================================== self-checks of the reference

    static Stream<Arguments> selfCheckNets() {
        return Stream.of(
                Arguments.of(SPEC, Likelihood.bernoulli()),
                Arguments.of(SPEC, Likelihood.softmax()),
                Arguments.of(SPEC, Likelihood.gaussianLearned(0.8f, 1e-4f, 10f)),
                Arguments.of(SPEC, Likelihood.gaussianLogSigma(0.8f, 1e-4f, 10f)),
                Arguments.of("5-8:tanh-6:sigmoid-4:linear/nobias", Likelihood.gaussian(0.7f)),
                Arguments.of("5-7:tanh-4:sigmoid", Likelihood.gaussian(0.7f)));
    }

    /** The reference's analytic NLL gradient against central differences of its NLL. */
    @ParameterizedTest(name = "{0} / {1}")
    @MethodSource("selfCheckNets")
    void referenceGradientMatchesFiniteDifferences(String specText, Likelihood lik) {
        Net net = refNet(MlpSpec.parse(specText), lik);
        Random r = new Random(41);
        double[] th = initialParams(net, r);
        if (net.learnSigma) th[net.size - 1] = 0.6;
        double[][] x = inputs(r, 6, net.width[0]), y = targets(r, net.lik, 6, net.width[net.layers()]);
        double[] g = net.grad(th, x, y);
        double h = 1e-4, maxErr = 0;
        for (int i = 0; i < net.size; i++) {
            double[] v = new double[4];
            double[] steps = {-2, -1, 1, 2};
            for (int s = 0; s < 4; s++) { double[] t = th.clone(); t[i] += steps[s] * h; v[s] = net.nll(t, x, y); }
            double fd = (v[0] - 8 * v[1] + 8 * v[2] - v[3]) / (12 * h);
            maxErr = Math.max(maxErr, Math.abs(fd - g[i]));
        }
        double rel = maxErr / maxAbs(g);
        assertTrue(rel < 1e-8, specText + " / " + lik + ": reference gradient vs finite differences, relative error " + rel);
    }

    /**
     * The reference's lambda gradient against central differences of its auxiliary loss
     * A = 1/2 z^T (F + gamma I) z - u^T z at a random (full or triangular) lambda, for fixed sampled
     * targets and for the Gauss-Newton product. A is a polynomial of degree 4 in each lambda entry, so
     * the 5-point stencil is exact whatever the step.
     */
    @ParameterizedTest(name = "{0} / {1} / {2}")
    @MethodSource("auxSelfCheckCases")
    void referenceLambdaGradientMatchesFiniteDifferences(String specText, Likelihood lik, boolean sampled, boolean triangular) {
        Net net = refNet(MlpSpec.parse(specText), lik);
        Factors q = new Factors(net, triangular);
        Random r = new Random(43);
        double[] th = initialParams(net, r);
        double[][] xa = inputs(r, 5, net.width[0]);
        double[][] ya = sampled ? net.sample(th, xa, new Rng(7, 0), new double[] {1}) : null;
        double gamma = 0.05;
        java.util.function.UnaryOperator<double[]> fvp = sampled
                ? z -> net.hessianVec(th, xa, ya, z, gamma) : z -> net.gaussNewtonVec(th, xa, z, gamma);
        double[] lam = q.initial(0.5);
        for (int l = 0; l < net.layers(); l++) {
            int n1 = net.rows(l), n2 = net.cols(l);
            for (int i = 0; i < n1; i++) for (int j = 0; j < n1; j++)
                if (!triangular || j >= i) lam[q.lOff[l] + i * n1 + j] += 0.3 * r.nextGaussian();
            for (int i = 0; i < n2; i++) for (int j = 0; j < n2; j++)
                if (!triangular || j <= i) lam[q.rOff[l] + i * n2 + j] += 0.3 * r.nextGaussian();
        }
        if (net.learnSigma) lam[q.size - 1] = 0.9;
        double[] u = new double[net.size];
        for (int i = 0; i < u.length; i++) u[i] = r.nextGaussian();
        double[] z = q.apply(lam, u);
        double[] grad = q.auxGrad(lam, u, axpy(-1, u, fvp.apply(z)));
        double h = 0.05, maxErr = 0;
        for (int i = 0; i < q.size; i++) {
            if (!q.free(i)) {
                assertEquals(0, grad[i], "lambda gradient outside the triangle, entry " + i);
                continue;
            }
            double[] v = new double[4];
            double[] steps = {-2, -1, 1, 2};
            for (int s = 0; s < 4; s++) {
                double[] lt = lam.clone();
                lt[i] += steps[s] * h;
                double[] zt = q.apply(lt, u), fz = fvp.apply(zt);
                double a = 0;
                for (int k = 0; k < zt.length; k++) a += 0.5 * zt[k] * fz[k] - u[k] * zt[k];
                v[s] = a;
            }
            double fd = (v[0] - 8 * v[1] + 8 * v[2] - v[3]) / (12 * h);
            maxErr = Math.max(maxErr, Math.abs(fd - grad[i]));
        }
        double rel = maxErr / maxAbs(grad);
        assertTrue(rel < 1e-7, "reference lambda gradient vs finite differences of A, relative error " + rel);
    }

    static Stream<Arguments> auxSelfCheckCases() {
        return Stream.of(
                Arguments.of(SPEC, Likelihood.bernoulli(), true, false),
                Arguments.of(SPEC, Likelihood.bernoulli(), true, true),
                Arguments.of(SPEC, Likelihood.gaussianLearned(0.8f, 1e-4f, 10f), true, false),
                Arguments.of(SPEC, Likelihood.gaussianLearned(0.8f, 1e-4f, 10f), false, true),
                Arguments.of(SPEC, Likelihood.gaussianLogSigma(0.8f, 1e-4f, 10f), true, true),
                Arguments.of(SPEC, Likelihood.softmax(), false, false));
    }
}
