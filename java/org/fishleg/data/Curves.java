package org.fishleg.data;

import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * The CURVES benchmark, regenerated (the original digs3pts_1.mat is not reachable): 28x28 images of a
 * curve through three random points (intrinsic dimension 6), values in [0,1], auto-encoder form (y = x).
 *
 * <p>Recipe (docs/datasets.md): three points uniform in [3,25]^2 in pixel coordinates (pixel centres at
 * 0..27, x = column, y = row); the quadratic through them at t = 0, 1/2, 1; sampled evenly by arc length
 * with about 3 samples per pixel of length, each sample carrying ink length/samples; the ink split
 * bilinearly among the 4 nearest pixels; a Gaussian blur (sigma 0.8 px, radius 3, zero outside); then one
 * fixed gain that brings a straight blurred stroke's peak to 1, and clipping to [0,1].
 * Each image draws from its own stream seeded by (seed, index), so the data are deterministic (and built
 * in parallel). Label any result with these data as regenerated CURVES.
 */
public final class Curves {
    /** Data set name used in messages. */
    public static final String NAME = "regenerated CURVES";
    /** Image side in pixels. */
    public static final int SIDE = 28;
    /** Pixels per image. */
    public static final int PIXELS = SIDE * SIDE;
    /** Training images. */
    public static final int TRAIN_SIZE = 20_000;
    /** Test images. */
    public static final int TEST_SIZE = 10_000;
    /** Seed of the standard training set ("seed A"). */
    public static final long TRAIN_SEED = 0x43555256455301L;
    /** Seed of the standard test set ("seed B"). */
    public static final long TEST_SEED = 0x43555256455302L;

    static final double LOW = 3.0;
    static final double HIGH = 25.0;
    static final double SAMPLES_PER_PIXEL = 3.0;
    static final double SIGMA = 0.8;
    static final int RADIUS = 3;
    private static final int LENGTH_STEPS = 256;

    private static final float[] KERNEL = kernel();
    /** Gain that maps a straight stroke's blurred peak (the kernel's centre weight) to 1. */
    private static final float GAIN = 1f / KERNEL[RADIUS];

    private Curves() {}

    /**
     * The standard split: 20,000 training images (seed A) and 10,000 test images (seed B).
     * @return the training and test sets
     */
    public static Splits standard() {
        return new Splits(generate(TRAIN_SIZE, TRAIN_SEED).withName(NAME + ", train"), null,
                generate(TEST_SIZE, TEST_SEED).withName(NAME + ", test"));
    }

    /**
     * {@code n} images from {@code seed}, auto-encoder form (y = x), no labels.
     * @param n the number of images
     * @param seed the generator seed
     * @return the images
     */
    public static Dataset generate(int n, long seed) {
        if (n < 0) throw new IllegalArgumentException("Curves.generate: n must be >= 0, got " + n);
        float[] x = new float[n * PIXELS];
        IntStream.range(0, n).parallel().forEach(i -> draw(seed, i, x, i * PIXELS));
        return Dataset.owningAutoencoder(NAME, x, n, PIXELS, null);
    }

    /** Draws image {@code index} of the set with {@code seed} into {@code out[off .. off+784)}. */
    static void draw(long seed, int index, float[] out, int off) {
        SplittableRandom rng = new SplittableRandom(Batcher.mix64(Batcher.mix64(seed) ^ (0xD1B54A32D192ED03L * (index + 1L))));
        double[] p = new double[6];
        for (int j = 0; j < 6; j++) p[j] = LOW + (HIGH - LOW) * rng.nextDouble();

        // cumulative arc length on a fine grid of t
        double[] cum = new double[LENGTH_STEPS + 1];
        double px = p[0], py = p[1];
        for (int s = 1; s <= LENGTH_STEPS; s++) {
            double t = (double) s / LENGTH_STEPS;
            double qx = curve(p, 0, t), qy = curve(p, 1, t);
            cum[s] = cum[s - 1] + Math.hypot(qx - px, qy - py);
            px = qx;
            py = qy;
        }
        double length = cum[LENGTH_STEPS];
        int samples = Math.max(2, (int) Math.ceil(SAMPLES_PER_PIXEL * length));
        double ink = length / samples;

        float[] img = new float[PIXELS];
        int seg = 1;
        for (int j = 0; j < samples; j++) {
            double target = length * (j + 0.5) / samples;       // midpoints of equal arc-length pieces
            while (seg < LENGTH_STEPS && cum[seg] < target) seg++;
            double a = cum[seg - 1], b = cum[seg];
            double frac = b > a ? (target - a) / (b - a) : 0.0;
            double t = (seg - 1 + frac) / LENGTH_STEPS;
            splat(img, curve(p, 0, t), curve(p, 1, t), ink);
        }
        blurScaleClip(img, out, off);
    }

    /** Coordinate {@code c} (0 = x, 1 = y) at {@code t} of the quadratic through p0 (t=0), p1 (t=1/2), p2 (t=1). */
    static double curve(double[] p, int c, double t) {
        double l0 = 2 * (t - 0.5) * (t - 1);
        double l1 = -4 * t * (t - 1);
        double l2 = 2 * t * (t - 0.5);
        return l0 * p[c] + l1 * p[2 + c] + l2 * p[4 + c];
    }

    private static void splat(float[] img, double x, double y, double ink) {
        int x0 = (int) Math.floor(x), y0 = (int) Math.floor(y);
        double fx = x - x0, fy = y - y0;
        add(img, y0, x0, ink * (1 - fx) * (1 - fy));
        add(img, y0, x0 + 1, ink * fx * (1 - fy));
        add(img, y0 + 1, x0, ink * (1 - fx) * fy);
        add(img, y0 + 1, x0 + 1, ink * fx * fy);
    }

    private static void add(float[] img, int r, int c, double v) {
        if (r >= 0 && r < SIDE && c >= 0 && c < SIDE) img[r * SIDE + c] += (float) v;
    }

    private static void blurScaleClip(float[] img, float[] out, int off) {
        float[] tmp = new float[PIXELS];
        for (int r = 0; r < SIDE; r++)
            for (int c = 0; c < SIDE; c++) {
                float s = 0;
                for (int k = -RADIUS; k <= RADIUS; k++) {
                    int cc = c + k;
                    if (cc >= 0 && cc < SIDE) s += KERNEL[k + RADIUS] * img[r * SIDE + cc];
                }
                tmp[r * SIDE + c] = s;
            }
        for (int r = 0; r < SIDE; r++)
            for (int c = 0; c < SIDE; c++) {
                float s = 0;
                for (int k = -RADIUS; k <= RADIUS; k++) {
                    int rr = r + k;
                    if (rr >= 0 && rr < SIDE) s += KERNEL[k + RADIUS] * tmp[rr * SIDE + c];
                }
                float v = s * GAIN;
                out[off + r * SIDE + c] = v < 0f ? 0f : Math.min(v, 1f);
            }
    }

    private static float[] kernel() {
        double[] k = new double[2 * RADIUS + 1];
        double sum = 0;
        for (int i = -RADIUS; i <= RADIUS; i++) {
            k[i + RADIUS] = Math.exp(-(i * i) / (2 * SIGMA * SIGMA));
            sum += k[i + RADIUS];
        }
        float[] f = new float[k.length];
        for (int i = 0; i < k.length; i++) f[i] = (float) (k[i] / sum);
        return f;
    }
}
