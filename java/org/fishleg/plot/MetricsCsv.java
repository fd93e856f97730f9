package org.fishleg.plot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A metrics CSV as written by the trainer (step, epoch, wall_seconds, train_loss, test_loss, and for Gaussian
 * likelihoods train_mse, test_mse; with the training-set evaluation train_set_loss, eval_seconds; any other columns ignored), read back for plotting. Empty cells, and the
 * squared-error columns of a file without them, are NaN.
 */
public final class MetricsCsv {
    /** The file read. */
    public final Path file;
    /** Columns step, epoch, wall_seconds, train_loss and test_loss, one element per row. */
    public final double[] step, epoch, wall, train, test;
    /** Mean squared errors over the training and test set (evaluation rows of Gaussian runs; NaN elsewhere). */
    public final double[] trainMse, testMse;
    /** True when the header has the train_mse and test_mse columns. */
    public final boolean hasMse;
    /** Mean NLL over the whole training set (evaluation rows of runs that evaluate it; NaN elsewhere). */
    public final double[] trainSet;
    /** Cumulative evaluation seconds (NaN when the file lacks the column). */
    public final double[] evalSeconds;

    private MetricsCsv(Path file, double[][] c, boolean hasMse) {
        this.file = file;
        this.step = c[0];
        this.epoch = c[1];
        this.wall = c[2];
        this.train = c[3];
        this.test = c[4];
        this.trainMse = c[5];
        this.testMse = c[6];
        this.hasMse = hasMse;
        this.trainSet = c[7];
        this.evalSeconds = c[8];
    }

    /** Number of data rows. */
    public int rows() { return step.length; }

    /** Reads a metrics file; a missing file or column gives an IllegalArgumentException with one line. */
    public static MetricsCsv read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("metrics file not found: " + file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read metrics file " + file + ": " + e.getMessage());
        }
        int h = 0;
        while (h < lines.size() && (lines.get(h).isBlank() || lines.get(h).startsWith("#"))) h++;
        if (h >= lines.size()) throw new IllegalArgumentException("metrics file " + file + " is empty");
        String[] header = lines.get(h).split(",", -1);
        int cStep = col(header, "step"), cEpoch = col(header, "epoch"), cWall = col(header, "wall_seconds");
        int cTrain = col(header, "train_loss"), cTest = col(header, "test_loss");
        int cTrainMse = col(header, "train_mse"), cTestMse = col(header, "test_mse");
        int cTrainSet = col(header, "train_set_loss"), cEval = col(header, "eval_seconds");
        if (cStep < 0 || (cTrain < 0 && cTest < 0))
            throw new IllegalArgumentException("metrics file " + file + " lacks the columns step and train_loss/test_loss (header: "
                    + lines.get(h) + ")");
        List<double[]> rows = new ArrayList<>();
        for (int i = h + 1; i < lines.size(); i++) {
            String l = lines.get(i);
            if (l.isBlank() || l.startsWith("#")) continue;
            String[] f = l.split(",", -1);
            double s = cell(f, cStep);
            if (Double.isNaN(s)) continue;
            rows.add(new double[] {s, cell(f, cEpoch), cell(f, cWall), cell(f, cTrain), cell(f, cTest),
                cell(f, cTrainMse), cell(f, cTestMse), cell(f, cTrainSet), cell(f, cEval)});
        }
        int n = rows.size();
        double[][] c = new double[9][n];
        for (int i = 0; i < n; i++) for (int j = 0; j < 9; j++) c[j][i] = rows.get(i)[j];
        return new MetricsCsv(file, c, cTrainMse >= 0 && cTestMse >= 0);
    }

    private static int col(String[] header, String name) {
        for (int i = 0; i < header.length; i++) if (header[i].trim().toLowerCase(Locale.ROOT).equals(name)) return i;
        return -1;
    }

    private static double cell(String[] f, int c) {
        if (c < 0 || c >= f.length) return Double.NaN;
        String s = f[c].trim();
        if (s.isEmpty()) return Double.NaN;
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            return Double.NaN; // "nan", "inf" written for diverged runs are left out of the plot
        }
    }
}
