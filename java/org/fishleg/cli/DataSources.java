package org.fishleg.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.fishleg.data.Curves;
import org.fishleg.data.Dataset;
import org.fishleg.data.DeepLinearData;
import org.fishleg.data.Faces;
import org.fishleg.data.Mnist;
import org.fishleg.data.Splits;

/**
 * The data sets the command line can train on, and where their files are looked for.
 *
 * <p>Default folders: {@code $FISHLEG_DATA} when set, else {@code <fishleg.home>/data} when the launcher set
 * the system property {@code fishleg.home} (the repository root), else {@code data} in the working directory.
 */
final class DataSources {
    private DataSources() {}

    static final List<String> NAMES = List.of("mnist", "mnist-labels", "curves", "faces", "dln");

    /** The data set a named model trains on by default, or null when it cannot be inferred. */
    static String defaultFor(String modelName, int inputs, int outputs, boolean softmax) {
        if (modelName != null) {
            switch (modelName) {
                case "mnist-ae": return "mnist";
                case "curves-ae": return "curves";
                case "faces-ae": return "faces";
                case "dln": return "dln";
                default: break;
            }
        }
        if (inputs == 784 && outputs == 784) return "mnist";
        if (inputs == 784 && outputs == 10 && softmax) return "mnist-labels";
        if (inputs == 625 && outputs == 625) return "faces";
        return null;
    }

    static String canonical(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        if (!NAMES.contains(n))
            throw new UserException("unknown data set '" + name + "' (expected one of " + String.join(", ", NAMES) + ")");
        return n;
    }

    /** $FISHLEG_DATA, else fishleg.home/data, else ./data. */
    static Path dataRoot() {
        String env = System.getenv(Mnist.ENV_DATA);
        if (env != null && !env.isBlank()) return Path.of(env);
        String home = System.getProperty("fishleg.home");
        if (home != null && !home.isBlank()) return Path.of(home, "data");
        return Path.of("data");
    }

    static Path mnistDir(Path dataDir) { return dataDir != null ? dataDir : dataRoot().resolve("mnist"); }

    /** The Olivetti .mat file: --data-dir (file, or folder holding olivettifaces.mat), else the data package's default. */
    static Path facesFile(Path dataDir) {
        if (dataDir != null) return Files.isDirectory(dataDir) ? dataDir.resolve("olivettifaces.mat") : dataDir;
        String env = System.getenv(Faces.ENV_FILE);
        String home = System.getProperty("fishleg.home");
        if ((env == null || env.isBlank()) && home != null && !home.isBlank())
            return Path.of(home).resolve("../shared/datasets/olivetti/olivettifaces.mat").normalize();
        return Faces.defaultMatFile();
    }

    /** Where a data set is read from, for messages. */
    static String location(String data, Path dataDir) {
        switch (data) {
            case "mnist": case "mnist-labels": return mnistDir(dataDir).toString();
            case "faces": return facesFile(dataDir).toString();
            case "curves": return "generated (" + Curves.NAME + ", fixed seeds)";
            default: return "generated (deep linear teacher, seed " + DeepLinearData.DEFAULT_SEED + ")";
        }
    }

    /** Loads train and test. */
    static Splits load(String data, Path dataDir, long seed) {
        switch (data) {
            case "mnist": return Mnist.load(mnistDir(dataDir));
            case "mnist-labels": return Mnist.classification(mnistDir(dataDir));
            case "curves": return Curves.standard();
            case "faces": return Faces.load(facesFile(dataDir));
            case "dln": return deepLinear();
            default: throw new UserException("unknown data set '" + data + "'");
        }
    }

    /** MNIST as a 10-class problem: inputs the pixels, targets the one-hot labels ({@link Dataset#withOneHotTargets}). */
    static Dataset oneHot(Dataset d) {
        return d.withOneHotTargets(10);
    }

    /** The standard deep-linear teacher problem (fixed teacher seed, so every --seed trains on the same problem). */
    static Splits deepLinear() {
        return DeepLinearData.generate(DeepLinearData.DEFAULT_SEED);
    }
}
