package org.fishleg.backend.cpu;

/**
 * Scalar math of the CPU backend, in double, written so every result is accurate to float precision
 * over the whole range (no cancellation in 1 - sigmoid, 1 - tanh^2, log(1 + e^-|a|)) and so that hot
 * loops have no calls and no data-dependent branches: {@link #exp} is a branch-free range reduction plus
 * a polynomial (relative error below 3e-10, far below float's 6e-8), and log(1 + e) uses the atanh
 * series. Math.tanh / log1p / expm1 are avoided: they are slow native calls on Java 17.
 */
final class CpuMath {
    private CpuMath() {}

    private static final double LOG2E = 1.4426950408889634;
    private static final double LN2_HI = 6.93147180369123816490e-01;
    private static final double LN2_LO = 1.90821492927058770002e-10;

    /**
     * e^x for any x (clamped to [-700, 700], so e^-800 gives ~1e-304 instead of 0, e^800 ~1e304 instead of
     * infinity; both are 0 or huge after rounding to float). NaN propagates.
     */
    static double exp(double x) {
        // ternaries, not Math.max/min: the double max/min intrinsics are slow on the build machines
        x = x < -700.0 ? -700.0 : x;
        x = x > 700.0 ? 700.0 : x;
        double kd = Math.rint(x * LOG2E);
        double r = (x - kd * LN2_HI) - kd * LN2_LO; // |r| <= ln2 / 2
        // degree-9 Taylor polynomial in Estrin form (short dependency chains)
        double r2 = r * r, r4 = r2 * r2;
        double a = 1.0 + r, b = 0.5 + r * (1.0 / 6), c = 1.0 / 24 + r * (1.0 / 120);
        double d = 1.0 / 720 + r * (1.0 / 5040), e = 1.0 / 40320 + r * (1.0 / 362880);
        double p = (a + r2 * b) + r4 * ((c + r2 * d) + r4 * e);
        return p * Double.longBitsToDouble(((long) kd + 1023L) << 52);
    }

    /**
     * (double) v, computed from the bits. Same value as the cast, but C2 compiles the cast in a loop to
     * cvtss2sd, which merges into its destination register: a false dependency that, in loops with a long
     * per-element chain (exp, log), serialises the iterations (measured 3-6x slower). Zero, subnormal,
     * infinite and NaN inputs take the plain cast.
     */
    static double widen(float v) {
        int b = Float.floatToRawIntBits(v);
        int e = (b >>> 23) & 0xFF;
        if (e == 0 || e == 0xFF) return v;
        return Double.longBitsToDouble(((long) (b & 0x80000000) << 32) | ((long) (e + 896) << 52) | ((long) (b & 0x7FFFFF) << 29));
    }

    /** log(1 + e) for 0 <= e <= 1 without cancellation: 2 atanh(s), s = e / (2 + e) <= 1/3. */
    static double log1pUnit(double e) {
        double s = e / (2.0 + e);
        double s2 = s * s;
        double q = 1.0 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 * (1.0 / 11
                + s2 * (1.0 / 13 + s2 * (1.0 / 15 + s2 * (1.0 / 17 + s2 * (1.0 / 19)))))))));
        return 2.0 * s * q;
    }

    /** sigmoid(a) = 1 / (1 + e^-a): no cancellation in double because e^-a is kept finite. */
    static double sigmoid(double a) {
        return 1.0 / (1.0 + exp(-a));
    }

    /** sigmoid(a) (1 - sigmoid(a)) = e / (1 + e)^2 with e = exp(-|a|). */
    static double sigmoidPrime(double a) {
        double e = exp(-Math.abs(a));
        double d = 1.0 + e;
        return e / (d * d);
    }

    /** tanh(a). */
    static double tanh(double a) {
        double ax = Math.abs(a);
        double e = exp(-2.0 * ax);
        double t = ax < 1e-4 ? ax * (1.0 - ax * ax * (1.0 / 3.0)) : (1.0 - e) / (1.0 + e);
        return Math.copySign(t, a);
    }

    /** 1 - tanh(a)^2 = 4 e / (1 + e)^2 with e = exp(-2|a|). */
    static double tanhPrime(double a) {
        double e = exp(-2.0 * Math.abs(a));
        double d = 1.0 + e;
        return 4.0 * e / (d * d);
    }

    /** softplus(a) = log(1 + e^a) = max(a, 0) + log(1 + e^-|a|). */
    static double softplus(double a) {
        double ax = Math.abs(a);
        return 0.5 * (a + ax) + log1pUnit(exp(-ax)); // max(a, 0) without a branch
    }

    /** phi''(a) for sigmoid: s (1 - s) (1 - 2 s), with 1 - 2 s = -tanh(a / 2). */
    static double sigmoidSecond(double a) {
        return -sigmoidPrime(a) * tanh(0.5 * a);
    }

    /** phi''(a) for tanh: -2 tanh(a) (1 - tanh(a)^2). */
    static double tanhSecond(double a) {
        return -2.0 * tanh(a) * tanhPrime(a);
    }
}
