package org.fishleg.optim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Small networks really learn with the first-order optimizers. */
class LearningTest {

    /** Two Gaussian blobs in 2-D (means (+-1.5, 0), sd 0.7 plus a nonlinear twist), one-hot labels. */
    private static float[][] blobs(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * 2], y = new float[n * 2];
        for (int i = 0; i < n; i++) {
            int c = i % 2;
            double a = (c == 0 ? -1.5 : 1.5) + 0.7 * r.nextGaussian(), bb = 0.7 * r.nextGaussian();
            x[2 * i] = (float) a;
            x[2 * i + 1] = (float) (bb + 0.5 * Math.sin(2 * a));
            y[2 * i + c] = 1f;
        }
        return new float[][] {x, y};
    }

    /** Loss after {@code steps} mini-batch steps on the 2-class problem, relative to the first. */
    private static double[] train(Backend b, String opt, float lr, int steps) {
        int n = 256, batch = 32;
        float[][] d = blobs(n, 4);
        try (Mlp m = new Mlp(b, MlpSpec.parse("2-16-16-2:linear"), Likelihood.softmax());
             Tensor xAll = b.upload(d[0], n, 2); Tensor yAll = b.upload(d[1], n, 2);
             Tensor x = b.zeros(batch, 2); Tensor y = b.zeros(batch, 2); Tensor l = b.zeros(1, 1)) {
            m.init(2);
            int[] perm = new int[n];
            for (int i = 0; i < n; i++) perm[i] = i;
            try (Optimizer o = Optimizers.create(opt, m, new Optimizers.Options().lr(lr), null)) {
                m.loss(xAll, yAll, l);
                double first = b.readScalar(l);
                Random r = new Random(9);
                for (int s = 0; s < steps; s++) {
                    int start = (s * batch) % n;
                    if (start == 0) shuffle(perm, r);
                    b.gatherRows(xAll, perm, start, x);
                    b.gatherRows(yAll, perm, start, y);
                    o.step(m, x, y, l);
                }
                m.loss(xAll, yAll, l);
                return new double[] {first, b.readScalar(l)};
            }
        }
    }

    private static void shuffle(int[] p, Random r) {
        for (int i = p.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i]; p[i] = p[j]; p[j] = t;
        }
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void adamLearnsTwoClasses(Backend b) {
        double[] r = train(b, "adam", 1e-2f, 400);
        // chance level is ln 2 = 0.69; two overlapping blobs reach about 0.1
        assertTrue(r[1] < r[0] / 4 && r[1] < 0.2, "adam: full-data loss " + r[0] + " -> " + r[1] + ", expected a 4x drop below 0.2");
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void momentumLearnsTwoClasses(Backend b) {
        double[] r = train(b, "momentum", 0.1f, 400);
        assertTrue(r[1] < r[0] / 4 && r[1] < 0.2, "momentum: full-data loss " + r[0] + " -> " + r[1] + ", expected a 4x drop below 0.2");
    }

    /** A linear auto-encoder 20-3-20 on rank-3 data with Gaussian noise 0.05: reconstruction error falls 10x. */
    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void autoEncoderOnLowRankData(Backend b) {
        int n = 200, d = 20, k = 3;
        Random r = new Random(5);
        double[][] basis = new double[k][d];
        for (double[] row : basis) for (int j = 0; j < d; j++) row[j] = r.nextGaussian() / Math.sqrt(k);
        float[] x = new float[n * d];
        for (int i = 0; i < n; i++) {
            double[] z = {r.nextGaussian(), r.nextGaussian(), r.nextGaussian()};
            for (int j = 0; j < d; j++) {
                double v = 0.05 * r.nextGaussian();
                for (int c = 0; c < k; c++) v += z[c] * basis[c][j];
                x[i * d + j] = (float) v;
            }
        }
        for (String opt : new String[] {"adam", "momentum"}) {
            // Gaussian sigma 1: NLL = |y - f|^2 / 2 + const; compare the part above the constant
            try (Mlp m = new Mlp(b, MlpSpec.parse("20-3:linear-20:linear"), Likelihood.gaussian(1f));
                 Tensor xs = b.upload(x, n, d); Tensor l = b.zeros(1, 1);
                 Optimizer o = Optimizers.create(opt, m, new Optimizers.Options().lr(opt.equals("adam") ? 1e-2f : 0.1f), null)) {
                m.init(3);
                double c = d * 0.5 * Math.log(2 * Math.PI);
                m.loss(xs, xs, l);
                double first = b.readScalar(l) - c;
                for (int s = 0; s < 600; s++) o.step(m, xs, xs, l);
                m.loss(xs, xs, l);
                double last = b.readScalar(l) - c;
                assertTrue(last < first / 10, opt + ": reconstruction term " + first + " -> " + last + ", expected a 10x drop");
            }
        }
    }
}
