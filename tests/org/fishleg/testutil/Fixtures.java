package org.fishleg.testutil;

import java.util.Random;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.nn.Likelihood;

/** Random inputs and valid targets for tests. */
public final class Fixtures {
    private Fixtures() {}

    public static float[] gaussian(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    /** Targets valid for the likelihood: 0/1 Bernoulli draws, one-hot rows, or real values. */
    public static float[] targets(Random r, Likelihood lik, int n, int k) {
        float[] y = new float[n * k];
        if (lik.kind == LikelihoodKind.BERNOULLI) {
            for (int i = 0; i < y.length; i++) y[i] = r.nextBoolean() ? 1f : 0f;
        } else if (lik.kind == LikelihoodKind.SOFTMAX) {
            for (int i = 0; i < n; i++) y[i * k + r.nextInt(k)] = 1f;
        } else {
            for (int i = 0; i < y.length; i++) y[i] = (float) r.nextGaussian();
        }
        return y;
    }

    public static Likelihood[] allLikelihoods() {
        return new Likelihood[] {Likelihood.bernoulli(), Likelihood.gaussian(0.7f), Likelihood.softmax(),
                Likelihood.gaussianLearned(0.8f, 1e-4f, 10f), Likelihood.gaussianLogSigma(0.8f, 1e-4f, 10f)};
    }
}
