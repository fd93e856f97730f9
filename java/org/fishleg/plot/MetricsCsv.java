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
 * A metrics CSV as written by the trainer (step, epoch, wall_seconds, train_loss, test_loss, any extra
 * columns ignored), read back for plotting. Empty cells are NaN.
 */
public final class MetricsCsv {
    public final Path file;
    public final double[] step, epoch, wall, train, test;

    private MetricsCsv(Path file, double[] step, double[] epoch, double[] wall, double[] train, double[] test) {
        this.file = file;
        this.step = step;
        this.epoch = epoch;
        this.wall = wall;
        this.train = train;
        this.test = test;
    }

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
            rows.add(new double[] {s, cell(f, cEpoch), cell(f, cWall), cell(f, cTrain), cell(f, cTest)});
        }
        int n = rows.size();
        double[][] c = new double[5][n];
        for (int i = 0; i < n; i++) for (int j = 0; j < 5; j++) c[j][i] = rows.get(i)[j];
        return new MetricsCsv(file, c[0], c[1], c[2], c[3], c[4]);
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
