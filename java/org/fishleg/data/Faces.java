package org.fishleg.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * FACES-like data regenerated from the 400 real Olivetti faces (AT&amp;T Laboratories Cambridge), following
 * Hinton &amp; Salakhutdinov (2006): each 64x64 face is rotated (-90:4:+90 degrees, 46 angles), scaled
 * (1.4:0.05:1.8, 9 factors), cropped and subsampled to 25x25, giving 400 x 414 = 165,600 images; then
 * every pixel gets zero mean and one global scale makes the average pixel variance 1 (statistics of the
 * training split, applied to all three). Split by person: 0-24 train (103,500), 25-29 validation
 * (20,700), 30-39 test (41,400). Auto-encoder form (y = x), labels = person (0..39).
 *
 * <p>The crop window and interpolation of the original FACES file are not published; here the output
 * grid spans the central 64/s x 64/s source pixels (s the scale), i.e. the face magnified by s and cropped
 * to the original 64x64 frame, sampled at the 25x25 cell centres by bilinear interpolation (edge pixels
 * repeated outside the frame). Results on these data are FACES-like, not FACES: say so next to any
 * comparison.
 */
public final class Faces {
    /** Data set name used in messages (FACES-like, not FACES). */
    public static final String NAME = "FACES-like (regenerated from Olivetti)";
    /** Environment variable naming olivettifaces.mat. */
    public static final String ENV_FILE = "FISHLEG_OLIVETTI";
    /** sha256 of olivettifaces.mat. */
    static final String MAT_SHA256 = "b1988d02c72fe5b8ee82b5ef3bb7982eafc74f1e1ff0ae0ade35061ad0af534d";
    /** Name of the image variable in olivettifaces.mat. */
    static final String VARIABLE = "faces";

    /** Side of an Olivetti image in pixels. */
    static final int SOURCE_SIDE = 64;
    /** Pixels of an Olivetti image. */
    static final int SOURCE_PIXELS = SOURCE_SIDE * SOURCE_SIDE;
    /** Olivetti images. */
    static final int IMAGES = 400;
    /** People in the Olivetti set. */
    static final int PEOPLE = 40;
    /** Olivetti images per person. */
    static final int IMAGES_PER_PERSON = 10;
    /** Side of a FACES-like image in pixels. */
    public static final int SIDE = 25;
    /** Pixels of a FACES-like image. */
    public static final int PIXELS = SIDE * SIDE;

    /** Rotations per source image: -90, -86, ..., +90 degrees. */
    static final int ROTATIONS = 46;      // -90, -86, ..., +90 degrees
    /** Scales per source image: 1.40, 1.45, ..., 1.80. */
    static final int SCALES = 9;          // 1.40, 1.45, ..., 1.80
    /** Rotation-scale variants per source image (414). */
    static final int VARIANTS = ROTATIONS * SCALES;   // 414

    /** People 0..24 form the training split. */
    static final int TRAIN_PEOPLE_END = 25;        // people 0..24
    /** People 25..29 form the validation split, 30..39 the test split. */
    static final int VALIDATION_PEOPLE_END = 30;   // people 25..29; 30..39 test

    private Faces() {}

    /** Rotation of variant index {@code r} (0..45), degrees. */
    static double rotationDegrees(int r) { return -90.0 + 4.0 * r; }

    /**
     * Scale of variant index {@code s} (0..8).
     * @param s the scale index
     * @return the scale factor
     */
    public static double scale(int s) { return 1.4 + 0.05 * s; }

    /**
     * $FISHLEG_OLIVETTI when set, else ../shared/datasets/olivetti/olivettifaces.mat relative to the working
     * directory (the project root).
     * @return the path of olivettifaces.mat
     */
    public static Path defaultMatFile() { return defaultMatFile(System.getenv()); }

    static Path defaultMatFile(Map<String, String> env) {
        String f = env.get(ENV_FILE);
        if (f != null && !f.isBlank()) return Path.of(f);
        return Path.of("..", "shared", "datasets", "olivetti", "olivettifaces.mat");
    }

    /** The 400 Olivetti faces, upright and row-major, grey levels as stored (0..255). */
    public record Olivetti(float[] images, int count, int side) {
        /**
         * Grey level of one pixel.
         * @param image the image index
         * @param row the pixel row
         * @param col the pixel column
         * @return the grey level
         */
        public float pixel(int image, int row, int col) { return images[image * side * side + row * side + col]; }

        /** The person (0..39) shown in Olivetti image {@code image}. */
        static int person(int image) { return image / IMAGES_PER_PERSON; }
    }

    /** Reads olivettifaces.mat: the double [4096, 400] variable "faces", each column a face stored column-major. */
    static Olivetti readOlivetti(Path matFile) {
        requireFile(matFile);
        MatV5.Matrix m = MatV5.read(matFile, VARIABLE);
        if (m.dims().length != 2 || m.dims()[0] != SOURCE_PIXELS || m.dims()[1] != IMAGES)
            throw new DataException("MAT file " + IdxReader.show(matFile) + ": variable '" + VARIABLE + "': expected dimensions [4096, 400], found "
                    + Arrays.toString(m.dims()));
        double[] v = m.real();
        float[] img = new float[IMAGES * SOURCE_PIXELS];
        for (int j = 0; j < IMAGES; j++) {
            int base = j * SOURCE_PIXELS;
            for (int r = 0; r < SOURCE_SIDE; r++)
                for (int c = 0; c < SOURCE_SIDE; c++) img[base + r * SOURCE_SIDE + c] = (float) v[base + c * SOURCE_SIDE + r];
        }
        return new Olivetti(img, IMAGES, SOURCE_SIDE);
    }

    /**
     * The full data set (165,600 images) from {@link #defaultMatFile()}.
     * @return the training, validation and test sets
     */
    public static Splits load() { return load(defaultMatFile()); }

    /**
     * The full data set (165,600 images).
     * @param matFile the path of olivettifaces.mat
     * @return the training, validation and test sets
     */
    public static Splits load(Path matFile) { return load(matFile, 1); }

    /**
     * The data set keeping only the variants {@code v} (v = rotation * 9 + scale, 0..413) with
     * {@code v % subsample == 0} for every face; 1 keeps all 414. A subsample coprime to 9 (e.g. 7, 23 or 46)
     * still covers every scale. The split, person labels and normalisation work as for the full set.
     * @param matFile the path of olivettifaces.mat
     * @param subsample keep the variants v with v % subsample == 0 (1 keeps all)
     * @return the training, validation and test sets
     */
    public static Splits load(Path matFile, int subsample) {
        if (subsample < 1 || subsample > VARIANTS)
            throw new IllegalArgumentException("Faces subsample must be in 1.." + VARIANTS + ", got " + subsample);
        Olivetti o = readOlivetti(matFile);
        int[] variants = IntStream.range(0, VARIANTS).filter(v -> v % subsample == 0).toArray();
        String suffix = subsample == 1 ? "" : " (every " + subsample + "th variant)";
        Dataset train = build(o, 0, TRAIN_PEOPLE_END, variants);
        Dataset val = build(o, TRAIN_PEOPLE_END, VALIDATION_PEOPLE_END, variants);
        Dataset test = build(o, VALIDATION_PEOPLE_END, PEOPLE, variants);
        normalise(train.rawX(), train.n(), new float[][] {train.rawX(), val.rawX(), test.rawX()});
        return new Splits(train.withName(NAME + ", train" + suffix), val.withName(NAME + ", validation" + suffix),
                test.withName(NAME + ", test" + suffix));
    }

    /** Number of images per split {train, validation, test} for a subsample (1 = full set). */
    static int[] splitSizes(int subsample) {
        int kept = (int) IntStream.range(0, VARIANTS).filter(v -> v % subsample == 0).count();
        return new int[] {TRAIN_PEOPLE_END * IMAGES_PER_PERSON * kept,
                (VALIDATION_PEOPLE_END - TRAIN_PEOPLE_END) * IMAGES_PER_PERSON * kept,
                (PEOPLE - VALIDATION_PEOPLE_END) * IMAGES_PER_PERSON * kept};
    }

    private static Dataset build(Olivetti o, int personFrom, int personTo, int[] variants) {
        int firstImage = personFrom * IMAGES_PER_PERSON;
        int images = (personTo - personFrom) * IMAGES_PER_PERSON;
        int nv = variants.length;
        int n = images * nv;
        float[] x = new float[n * PIXELS];
        int[] labels = new int[n];
        IntStream.range(0, n).parallel().forEach(row -> {
            int image = firstImage + row / nv;
            int v = variants[row % nv];
            labels[row] = Olivetti.person(image);
            transform(o.images(), image * SOURCE_PIXELS, rotationDegrees(v / SCALES), scale(v % SCALES), x, row * PIXELS);
        });
        return Dataset.owningAutoencoder(NAME, x, n, PIXELS, labels);
    }

    /**
     * Rotates the 64x64 source image by {@code degrees} about its centre, magnifies it by {@code scale},
     * crops the central frame and samples it bilinearly on a 25x25 grid, grey levels divided by 255.
     */
    static void transform(float[] src, int srcOff, double degrees, double scale, float[] out, int outOff) {
        double th = Math.toRadians(degrees);
        double cos = Math.cos(th), sin = Math.sin(th);
        double centre = (SOURCE_SIDE - 1) / 2.0;
        double step = SOURCE_SIDE / scale / SIDE;             // source pixels per output pixel
        for (int r = 0; r < SIDE; r++) {
            double oy = (r + 0.5 - SIDE / 2.0) * step;
            for (int c = 0; c < SIDE; c++) {
                double ox = (c + 0.5 - SIDE / 2.0) * step;
                double sx = centre + cos * ox - sin * oy;
                double sy = centre + sin * ox + cos * oy;
                out[outOff + r * SIDE + c] = (float) (bilinear(src, srcOff, sx, sy) / 255.0);
            }
        }
    }

    private static double bilinear(float[] src, int off, double x, double y) {
        double max = SOURCE_SIDE - 1;
        x = Math.max(0, Math.min(max, x));
        y = Math.max(0, Math.min(max, y));
        int x0 = Math.min((int) x, SOURCE_SIDE - 2), y0 = Math.min((int) y, SOURCE_SIDE - 2);
        double fx = x - x0, fy = y - y0;
        int p = off + y0 * SOURCE_SIDE + x0;
        return (1 - fy) * ((1 - fx) * src[p] + fx * src[p + 1])
                + fy * ((1 - fx) * src[p + SOURCE_SIDE] + fx * src[p + SOURCE_SIDE + 1]);
    }

    /** Subtracts the per-pixel mean of {@code ref} and divides by the root of its average pixel variance. */
    private static void normalise(float[] ref, int n, float[][] targets) {
        double[] mean = new double[PIXELS];
        double[] sq = new double[PIXELS];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < PIXELS; j++) mean[j] += ref[i * PIXELS + j];
        for (int j = 0; j < PIXELS; j++) mean[j] /= n;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < PIXELS; j++) {
                double dlt = ref[i * PIXELS + j] - mean[j];
                sq[j] += dlt * dlt;
            }
        double avgVar = 0;
        for (int j = 0; j < PIXELS; j++) avgVar += sq[j] / n;
        avgVar /= PIXELS;
        if (!(avgVar > 0)) throw new DataException("FACES: the training images have zero variance; cannot normalise");
        double inv = 1.0 / Math.sqrt(avgVar);
        for (float[] t : targets) {
            int m = t.length / PIXELS;
            IntStream.range(0, m).parallel().forEach(i -> {
                for (int j = 0; j < PIXELS; j++) t[i * PIXELS + j] = (float) ((t[i * PIXELS + j] - mean[j]) * inv);
            });
        }
    }

    /** Checks the file's sha256 against the README's; throws a DataException saying found vs expected. */
    static void verify(Path matFile) {
        requireFile(matFile);
        String actual = Mnist.sha256(matFile);
        if (!actual.equals(MAT_SHA256))
            throw new DataException("MAT file " + IdxReader.show(matFile) + ": sha256 " + actual + ", expected " + MAT_SHA256
                    + " (the olivettifaces.mat of shared/datasets/olivetti)");
    }

    private static void requireFile(Path matFile) {
        if (!Files.isRegularFile(matFile))
            throw new DataException("FACES source not found: " + IdxReader.show(matFile) + " (expected olivettifaces.mat, the 400 Olivetti faces, "
                    + "MAT v5, sha256 " + MAT_SHA256.substring(0, 12) + "...); FACES needs it and is never replaced by other data: "
                    + "give its path (or set " + ENV_FILE + "), it lives in shared/datasets/olivetti/");
    }
}
