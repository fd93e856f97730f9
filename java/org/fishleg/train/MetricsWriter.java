package org.fishleg.train;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The metrics CSV of a training run, one row per logged step, flushed after every row:
 *
 * <pre>
 * step,epoch,wall_seconds,train_loss,test_loss
 * </pre>
 *
 * step = optimizer steps completed; epoch = step / (batches per epoch), fractional; wall_seconds since the
 * run started (continued across resumes); train_loss = mean of the mini-batch losses of the steps since the
 * previous row (empty when there were none, e.g. the evaluation row at step 0); test_loss = mean NLL over the
 * whole test set, only on evaluation rows (empty otherwise).
 *
 * <p>With squared-error columns (Gaussian likelihoods) the header is {@link #MSE_HEADER}: train_mse and
 * test_mse are the mean over examples of ||f(x) - y||^2 over the whole training and test set, on evaluation
 * rows only (empty otherwise).
 */
public final class MetricsWriter implements AutoCloseable {
    /** The CSV header. */
    public static final String HEADER = "step,epoch,wall_seconds,train_loss,test_loss";
    /** The header with the squared-error columns. */
    public static final String MSE_HEADER = HEADER + ",train_mse,test_mse";

    private final Path file;
    private final BufferedWriter out;
    private final boolean mse;

    private MetricsWriter(Path file, BufferedWriter out, boolean mse) {
        this.file = file;
        this.out = out;
        this.mse = mse;
    }

    /** The header of a file with ({@code mse}) or without the squared-error columns. */
    public static String header(boolean mse) { return mse ? MSE_HEADER : HEADER; }

    /** Creates (or truncates) the file and writes the header, without the squared-error columns. */
    public static MetricsWriter create(Path file) { return create(file, false); }

    /** Creates (or truncates) the file and writes the header, with the squared-error columns when {@code mse}. */
    public static MetricsWriter create(Path file, boolean mse) {
        try {
            createParent(file);
            BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
            w.write(header(mse));
            w.newLine();
            w.flush();
            return new MetricsWriter(file, w, mse);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot write metrics file " + file + ": " + Checkpoint.oneLine(e), e);
        }
    }

    /** {@link #resume(Path, long, boolean)} without the squared-error columns. */
    public static MetricsWriter resume(Path file, long step) { return resume(file, step, false); }

    /**
     * For a resumed run: keeps the rows with step &lt;= {@code step} of an existing file (or creates it) under this
     * run's header and appends from there.
     */
    public static MetricsWriter resume(Path file, long step, boolean mse) {
        if (!Files.exists(file)) return create(file, mse);
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            List<String> keep = new ArrayList<>();
            keep.add(header(mse));
            for (int i = 1; i < lines.size(); i++) {
                String l = lines.get(i);
                int c = l.indexOf(',');
                if (c <= 0) continue;
                try {
                    if (Long.parseLong(l.substring(0, c).trim()) <= step) keep.add(l);
                } catch (NumberFormatException ignored) {
                    // not a data row
                }
            }
            Files.write(file, keep, StandardCharsets.UTF_8);
            BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
            return new MetricsWriter(file, w, mse);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot write metrics file " + file + ": " + Checkpoint.oneLine(e), e);
        }
    }

    private static void createParent(Path file) throws IOException {
        Path p = file.toAbsolutePath().getParent();
        if (p != null) Files.createDirectories(p);
    }

    /** Checks that {@code file} can be created or written, without leaving a file behind that was not there. */
    public static void checkWritable(Path file) {
        if (Files.isDirectory(file)) throw new IllegalArgumentException("metrics path " + file + " is a directory");
        boolean existed = Files.exists(file);
        try {
            createParent(file);
            if (existed) {
                if (!Files.isWritable(file)) throw new IOException("not writable");
            } else {
                Files.newOutputStream(file).close();
                Files.delete(file);
            }
        } catch (IOException | SecurityException e) {
            throw new IllegalArgumentException("cannot write metrics file " + file + ": " + Checkpoint.oneLine(e), e);
        }
    }

    /** The CSV file. */
    public Path file() { return file; }

    /** True when the file has the train_mse and test_mse columns. */
    public boolean hasMseColumns() { return mse; }

    /**
     * Writes one row; NaN train/test loss is written as "nan", a missing one (null) as empty (so are the
     * squared-error cells of a file that has them).
     */
    public void row(long step, double epoch, double wallSeconds, Double trainLoss, Double testLoss) {
        row(step, epoch, wallSeconds, trainLoss, testLoss, null, null);
    }

    /** Writes one row with squared errors (null: empty); a file without those columns accepts only nulls. */
    public void row(long step, double epoch, double wallSeconds, Double trainLoss, Double testLoss, Double trainMse, Double testMse) {
        if (!mse && (trainMse != null || testMse != null))
            throw new IllegalArgumentException("metrics file " + file + " has no squared-error columns");
        StringBuilder b = new StringBuilder();
        b.append(step).append(',')
                .append(String.format(Locale.ROOT, "%.4f", epoch)).append(',')
                .append(String.format(Locale.ROOT, "%.3f", wallSeconds)).append(',')
                .append(num(trainLoss)).append(',')
                .append(num(testLoss));
        if (mse) b.append(',').append(sig(trainMse)).append(',').append(sig(testMse));
        try {
            out.write(b.toString());
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new IllegalStateException("cannot write metrics file " + file + ": " + Checkpoint.oneLine(e), e);
        }
    }

    static String num(Double v) {
        if (v == null) return "";
        if (Double.isNaN(v)) return "nan";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        return String.format(Locale.ROOT, "%.6f", v);
    }

    /** As {@link #num} with 7 significant digits: squared errors near a small noise floor keep their precision. */
    static String sig(Double v) {
        if (v == null || !Double.isFinite(v)) return num(v);
        return String.format(Locale.ROOT, "%.7g", v);
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException ignored) {
            // rows were flushed already
        }
    }
}
