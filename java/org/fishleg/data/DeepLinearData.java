package org.fishleg.data;

import java.util.Random;

/**
 * The deep-linear-network teacher of the FishLeg paper's theory experiment (fishleg-algorithm.md
 * section 6): a seeded teacher with the student's shape ({@code depth} square layers of {@code width},
 * no biases, W ~ N(0, 1/width)), inputs x ~ N(0, I_width) and targets
 * {@code y = x W_1 W_2 ... W_depth + noise}, noise ~ N(0, noiseStd^2) per element (row-vector convention,
 * the same as {@link org.fishleg.nn.Mlp}: h_l = h_{l-1} W_l).
 *
 * <p>Everything is generated on the host in double precision from one {@link Random} seeded with
 * {@code seed} (teacher weights first, then training inputs and noise, then test inputs and noise), and
 * stored as float32 row-major arrays. The standard setting ({@link #standard(long)}) is the paper's:
 * 19 x (20x20), 40 training inputs, noise 1e-3, plus 1000 held-out test inputs from the same teacher.
 */
public final class DeepLinearData {
    /** Layers of the standard teacher. */
    public static final int STANDARD_DEPTH = 19;
    /** Width of every standard layer. */
    public static final int STANDARD_WIDTH = 20;
    /** Standard training inputs. */
    public static final int STANDARD_TRAIN = 40;
    /** Standard held-out test inputs. */
    public static final int STANDARD_TEST = 1000;
    /** Standard deviation of the standard target noise. */
    public static final double STANDARD_NOISE = 1e-3;
    /**
     * Seed used when none is given: 1, the CLI's default {@code --seed} (the CLI seeds both the teacher data
     * and the student initialisation with its one seed; the experiment's defaults match that).
     */
    public static final long DEFAULT_SEED = 1;

    private final int depth, width, nTrain, nTest;
    private final double noiseStd;
    private final long seed;
    private final float[] teacher;          // depth blocks of width x width, row-major, the flat Mlp layout
    private final float[] xTrain, yTrain, xTest, yTest;

    private DeepLinearData(int depth, int width, int nTrain, int nTest, double noiseStd, long seed) {
        if (depth < 1 || width < 1 || nTrain < 1 || nTest < 0)
            throw new IllegalArgumentException("deep linear data: bad shape depth=" + depth + " width=" + width
                    + " train=" + nTrain + " test=" + nTest);
        if (!(noiseStd >= 0)) throw new IllegalArgumentException("deep linear data: noise std must be >= 0, got " + noiseStd);
        this.depth = depth;
        this.width = width;
        this.nTrain = nTrain;
        this.nTest = nTest;
        this.noiseStd = noiseStd;
        this.seed = seed;
        Random r = new Random(seed);
        int nn = width * width;
        double[][] w = new double[depth][nn];
        double sd = 1.0 / Math.sqrt(width);
        teacher = new float[depth * nn];
        for (int l = 0; l < depth; l++)
            for (int k = 0; k < nn; k++) {
                w[l][k] = r.nextGaussian() * sd;
                teacher[l * nn + k] = (float) w[l][k];
            }
        // The teacher map as one matrix T = W_1 ... W_depth (double), then y = x T + noise.
        double[] t = w[0].clone();
        for (int l = 1; l < depth; l++) t = mul(t, w[l], width);
        xTrain = new float[nTrain * width];
        yTrain = new float[nTrain * width];
        fill(r, t, xTrain, yTrain, nTrain);
        xTest = new float[nTest * width];
        yTest = new float[nTest * width];
        fill(r, t, xTest, yTest, nTest);
    }

    private void fill(Random r, double[] t, float[] xs, float[] ys, int n) {
        double[] x = new double[width];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < width; j++) {
                x[j] = r.nextGaussian();
                xs[i * width + j] = (float) x[j];
            }
            for (int j = 0; j < width; j++) {
                double s = 0;
                for (int k = 0; k < width; k++) s += x[k] * t[k * width + j];
                ys[i * width + j] = (float) (s + noiseStd * r.nextGaussian());
            }
        }
    }

    private static double[] mul(double[] a, double[] b, int n) {
        double[] c = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++) {
                double v = a[i * n + k];
                if (v == 0) continue;
                for (int j = 0; j < n; j++) c[i * n + j] += v * b[k * n + j];
            }
        return c;
    }

    /**
     * The paper's setting: 19 x (20x20), 40 training and 1000 test inputs, noise std 1e-3.
     * @param seed the generator seed
     * @return the teacher and its data
     */
    public static DeepLinearData standard(long seed) {
        return new DeepLinearData(STANDARD_DEPTH, STANDARD_WIDTH, STANDARD_TRAIN, STANDARD_TEST, STANDARD_NOISE, seed);
    }

    /**
     * {@link #standard(long)} with {@link #DEFAULT_SEED}.
     * @return the teacher and its data
     */
    public static DeepLinearData standard() { return standard(DEFAULT_SEED); }

    /**
     * The standard train / test splits for {@code seed}, the form the CLI looks up
     * ({@code fishleg train --model dln --seed S}).
     * @param seed the generator seed
     * @return the training and test sets
     */
    public static Splits generate(long seed) { return standard(seed).splits(); }

    /**
     * Any shape (tests, smaller experiments).
     * @param depth number of layers
     * @param width width of every layer
     * @param nTrain number of training inputs
     * @param nTest number of test inputs
     * @param noiseStd standard deviation of the target noise
     * @param seed the generator seed
     * @return the teacher and its data
     */
    public static DeepLinearData of(int depth, int width, int nTrain, int nTest, double noiseStd, long seed) {
        return new DeepLinearData(depth, width, nTrain, nTest, noiseStd, seed);
    }

    /**
     * Teacher layers.
     * @return the depth
     */
    public int depth() { return depth; }
    /**
     * Teacher width.
     * @return the width
     */
    public int width() { return width; }
    /**
     * Training inputs.
     * @return the number of training inputs
     */
    public int trainSize() { return nTrain; }
    /**
     * Test inputs.
     * @return the number of test inputs
     */
    public int testSize() { return nTest; }
    /**
     * Standard deviation of the target noise.
     * @return the noise standard deviation
     */
    public double noiseStd() { return noiseStd; }
    /**
     * The generator seed.
     * @return the seed
     */
    public long seed() { return seed; }

    /**
     * Teacher weights in the flat layout of a no-bias {@link org.fishleg.nn.Mlp} (no sigma element); a copy.
     * @return the teacher weights
     */
    public float[] teacherWeights() { return teacher.clone(); }

    /**
     * Training inputs, row-major nTrain x width (a copy).
     * @return the training inputs
     */
    public float[] xTrain() { return xTrain.clone(); }
    /**
     * Training targets, row-major nTrain x width (a copy).
     * @return the training targets
     */
    public float[] yTrain() { return yTrain.clone(); }
    /**
     * Test inputs, row-major nTest x width (a copy).
     * @return the test inputs
     */
    public float[] xTest() { return xTest.clone(); }
    /**
     * Test targets, row-major nTest x width (a copy).
     * @return the test targets
     */
    public float[] yTest() { return yTest.clone(); }

    /**
     * The training set as a {@link Dataset} (name "dln-train").
     * @return the training set
     */
    public Dataset train() {
        return Dataset.owning("dln-train", xTrain.clone(), nTrain, width, yTrain.clone(), width, null);
    }

    /**
     * The held-out test set as a {@link Dataset} (name "dln-test").
     * @return the test set
     */
    public Dataset test() {
        return Dataset.owning("dln-test", xTest.clone(), nTest, width, yTest.clone(), width, null);
    }

    /**
     * Training and test sets (no validation split).
     * @return the splits
     */
    public Splits splits() { return new Splits(train(), null, test()); }

    @Override
    public String toString() {
        return "deep linear teacher " + depth + " x (" + width + "x" + width + "), " + nTrain + " train / " + nTest
                + " test inputs, noise " + noiseStd + ", seed " + seed;
    }
}
