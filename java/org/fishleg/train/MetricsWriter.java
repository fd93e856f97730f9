package org.fishleg.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The metrics CSV of a training run, one row per logged step, each written to the file as it is made:
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
 * <p>With squared-error columns (Gaussian likelihoods) the header goes on with train_mse,test_mse: the mean over
 * examples of ||f(x) - y||^2 over the whole training and test set, on evaluation
 * rows only (empty otherwise).
 *
 * <p>With the training-set columns ({@link TrainerConfig#evalTrainSet}) the header ends in
 * {@code train_set_loss,eval_seconds}: train_set_loss is the mean NLL over the whole training set, on evaluation
 * rows only; eval_seconds the seconds spent on evaluations (test set, training set, squared errors) since the run
 * started (continued across resumes), on every row, so wall_seconds - eval_seconds is the training time.
 *
 * <p>Each row goes to the file in one write of the whole line. When that fails (a full disk), the file is cut
 * back to its last complete row and {@link #row} throws an {@link UncheckedIOException} with a one-line message,
 * so a metrics file never ends in half a row.
 */
public final class MetricsWriter implements AutoCloseable {
    /** The CSV header. */
    public static final String HEADER = "step,epoch,wall_seconds,train_loss,test_loss";
    /** The header with the squared-error columns. */
    static final String MSE_HEADER = HEADER + ",train_mse,test_mse";
    /** The columns appended by the training-set evaluation. */
    static final String TRAIN_SET_COLUMNS = "train_set_loss,eval_seconds";

    private final Path file;
    private final SeekableByteChannel out;
    private final boolean mse;
    private final boolean trainSet;
    /** eval_seconds of the last row kept by {@link #resume} (0 for a new file). */
    private double keptEvalSeconds;
    /** Bytes of the file that end in a complete row (or the header). */
    private long complete;

    /** Writes rows to {@code out}, positioned at its end; package-private so tests can pass a failing channel. */
    MetricsWriter(Path file, SeekableByteChannel out, boolean mse) throws IOException {
        this(file, out, mse, false);
    }

    private MetricsWriter(Path file, SeekableByteChannel out, boolean mse, boolean trainSet) throws IOException {
        this.file = file;
        this.out = out;
        this.mse = mse;
        this.trainSet = trainSet;
        this.complete = out.size();
        out.position(complete);
    }

    /**
     * The header of a file with ({@code mse}) or without the squared-error columns.
     * @param mse whether the file has the squared-error columns
     * @return the header line
     */
    public static String header(boolean mse) { return mse ? MSE_HEADER : HEADER; }

    /**
     * The header with the squared-error columns when {@code mse} and the training-set columns when {@code trainSet}.
     * @param mse whether the file has the squared-error columns
     * @param trainSet whether the file has the training-set columns
     * @return the header line
     */
    public static String header(boolean mse, boolean trainSet) { return header(mse) + (trainSet ? "," + TRAIN_SET_COLUMNS : ""); }

    /**
     * Creates (or truncates) the file and writes the header, without the squared-error columns.
     * @param file the CSV file
     * @return the writer; close it when done
     */
    public static MetricsWriter create(Path file) { return create(file, false); }

    /**
     * Creates (or truncates) the file and writes the header, with the squared-error columns when {@code mse}.
     * @param file the CSV file
     * @param mse whether to write the squared-error columns
     * @return the writer; close it when done
     */
    public static MetricsWriter create(Path file, boolean mse) { return create(file, mse, false); }

    /**
     * As {@link #create(Path, boolean)}, with the training-set columns when {@code trainSet}.
     * @param file the CSV file
     * @param mse whether to write the squared-error columns
     * @param trainSet whether to write the training-set columns
     * @return the writer; close it when done
     */
    public static MetricsWriter create(Path file, boolean mse, boolean trainSet) {
        FileChannel ch = null;
        try {
            createParent(file);
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
            MetricsWriter w = new MetricsWriter(file, ch, mse, trainSet);
            w.writeLine(header(mse, trainSet));
            return w;
        } catch (IOException | UncheckedIOException e) {
            closeQuietly(ch);
            throw new IllegalArgumentException("cannot write metrics file " + file + ": " + Checkpoint.oneLine(cause(e)), e);
        }
    }

    private static Throwable cause(Exception e) { return e instanceof UncheckedIOException ? e.getCause() : e; }

    private static void closeQuietly(FileChannel ch) {
        if (ch == null) return;
        try {
            ch.close();
        } catch (IOException ignored) {
            // already failing
        }
    }

    /**
     * {@link #resume(Path, long, boolean)} without the squared-error columns.
     * @param file the CSV file
     * @param step the step resumed from
     * @return the writer; close it when done
     */
    public static MetricsWriter resume(Path file, long step) { return resume(file, step, false); }

    /**
     * For a resumed run: keeps the rows with step &lt;= {@code step} of an existing file (or creates it) under this
     * run's header and appends from there.
     * @param file the CSV file
     * @param step the step resumed from
     * @param mse whether the file has the squared-error columns
     * @return the writer; close it when done
     */
    public static MetricsWriter resume(Path file, long step, boolean mse) { return resume(file, step, mse, false); }

    /**
     * As {@link #resume(Path, long, boolean)}, with the training-set columns when {@code trainSet}; eval_seconds
     * continues from the last kept row's.
     * @param file the CSV file
     * @param step the step resumed from
     * @param mse whether the file has the squared-error columns
     * @param trainSet whether the file has the training-set columns
     * @return the writer; close it when done
     */
    public static MetricsWriter resume(Path file, long step, boolean mse, boolean trainSet) {
        if (!Files.exists(file)) return create(file, mse, trainSet);
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            List<String> keep = new ArrayList<>();
            keep.add(header(mse, trainSet));
            int evalCol = -1;
            if (!lines.isEmpty()) evalCol = List.of(lines.get(0).split(",", -1)).indexOf("eval_seconds");
            double kept = 0;
            for (int i = 1; i < lines.size(); i++) {
                String l = lines.get(i);
                int c = l.indexOf(',');
                if (c <= 0) continue;
                try {
                    if (Long.parseLong(l.substring(0, c).trim()) <= step) {
                        keep.add(l);
                        String[] f = l.split(",", -1);
                        if (evalCol >= 0 && evalCol < f.length && !f[evalCol].isBlank()) kept = Double.parseDouble(f[evalCol]);
                    }
                } catch (NumberFormatException ignored) {
                    // not a data row
                }
            }
            Files.write(file, keep, StandardCharsets.UTF_8);
            FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE);
            try {
                MetricsWriter w = new MetricsWriter(file, ch, mse, trainSet);
                w.keptEvalSeconds = kept;
                return w;
            } catch (IOException e) {
                closeQuietly(ch);
                throw e;
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot write metrics file " + file + ": " + Checkpoint.oneLine(e), e);
        }
    }

    private static void createParent(Path file) throws IOException {
        Path p = file.toAbsolutePath().getParent();
        if (p != null) Files.createDirectories(p);
    }

    /**
     * Checks that {@code file} can be created or written, without leaving a file behind that was not there.
     * @param file the CSV file
     */
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

    /**
     * The CSV file.
     * @return the file
     */
    public Path file() { return file; }

    /** True when the file has the train_mse and test_mse columns. */
    boolean hasMseColumns() { return mse; }

    /** True when the file has the train_set_loss and eval_seconds columns. */
    boolean hasTrainSetColumns() { return trainSet; }

    /** eval_seconds of the last row a resume kept (0 for a new file or one without the column). */
    double keptEvalSeconds() { return keptEvalSeconds; }

    /**
     * Writes one row; NaN train/test loss is written as "nan", a missing one (null) as empty (so are the
     * squared-error cells of a file that has them).
     * @param step the step
     * @param epoch the epoch, fractional
     * @param wallSeconds seconds since the run started
     * @param trainLoss the training loss, or null
     * @param testLoss the test loss, or null
     */
    public void row(long step, double epoch, double wallSeconds, Double trainLoss, Double testLoss) {
        row(step, epoch, wallSeconds, trainLoss, testLoss, null, null);
    }

    /**
     * Writes one row with squared errors (null: empty); a file without those columns accepts only nulls.
     * @param step the step
     * @param epoch the epoch, fractional
     * @param wallSeconds seconds since the run started
     * @param trainLoss the training loss, or null
     * @param testLoss the test loss, or null
     * @param trainMse the training squared error, or null
     * @param testMse the test squared error, or null
     */
    public void row(long step, double epoch, double wallSeconds, Double trainLoss, Double testLoss, Double trainMse, Double testMse) {
        row(step, epoch, wallSeconds, trainLoss, testLoss, trainMse, testMse, null, null);
    }

    /**
     * Writes one row with squared errors and the training-set columns (null: empty); a file without those columns
     * accepts only nulls for them.
     * @param step the step
     * @param epoch the epoch, fractional
     * @param wallSeconds seconds since the run started
     * @param trainLoss the training loss, or null
     * @param testLoss the test loss, or null
     * @param trainMse the training squared error, or null
     * @param testMse the test squared error, or null
     * @param trainSetLoss the loss over the whole training set, or null
     * @param evalSeconds the evaluation seconds so far, or null
     */
    public void row(long step, double epoch, double wallSeconds, Double trainLoss, Double testLoss, Double trainMse, Double testMse,
                    Double trainSetLoss, Double evalSeconds) {
        if (!trainSet && (trainSetLoss != null || evalSeconds != null))
            throw new IllegalArgumentException("metrics file " + file + " has no training-set columns");
        if (!mse && (trainMse != null || testMse != null))
            throw new IllegalArgumentException("metrics file " + file + " has no squared-error columns");
        StringBuilder b = new StringBuilder();
        b.append(step).append(',')
                .append(String.format(Locale.ROOT, "%.4f", epoch)).append(',')
                .append(String.format(Locale.ROOT, "%.3f", wallSeconds)).append(',')
                .append(num(trainLoss)).append(',')
                .append(num(testLoss));
        if (mse) b.append(',').append(sig(trainMse)).append(',').append(sig(testMse));
        if (trainSet) b.append(',').append(num(trainSetLoss)).append(',')
                .append(evalSeconds == null ? "" : String.format(Locale.ROOT, "%.3f", evalSeconds));
        writeLine(b.toString());
    }

    /** Writes {@code line} and a newline; on failure cuts the file back to its last complete row and throws. */
    private void writeLine(String line) {
        ByteBuffer bytes = ByteBuffer.wrap((line + System.lineSeparator()).getBytes(StandardCharsets.UTF_8));
        try {
            while (bytes.hasRemaining()) out.write(bytes);
            complete = out.position();
        } catch (IOException e) {
            String undo = "";
            try {
                out.truncate(complete);
                out.position(complete);
            } catch (IOException again) {
                undo = " (and the partial row could not be removed: " + Checkpoint.oneLine(again) + ")";
            }
            throw new UncheckedIOException("cannot write metrics file " + file + ": " + Checkpoint.oneLine(e)
                    + "; the file keeps its complete rows" + undo, e);
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
            // every row was written in full already (no buffering)
        }
    }
}
