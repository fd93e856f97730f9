package org.fishleg.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads IDX files (the MNIST format): a big-endian int32 magic (2051 for unsigned-byte images with 3
 * dimensions, 2049 for unsigned-byte labels with 1 dimension), the dimension sizes as big-endian int32,
 * then the unsigned bytes. Images come back as floats in [0,1] (byte / 255), labels as ints.
 *
 * <p>Every problem is a {@link DataException} whose one-line message names the file, the byte offset
 * where it applies, what was expected and what was found, and how to fetch the data.
 */
final class IdxReader {
    /** Magic number of an unsigned-byte image file. */
    static final int IMAGES_MAGIC = 2051;
    /** Magic number of an unsigned-byte label file. */
    static final int LABELS_MAGIC = 2049;
    /** Header bytes of an image file. */
    static final int IMAGES_HEADER_BYTES = 16;
    /** Header bytes of a label file. */
    static final int LABELS_HEADER_BYTES = 8;

    /** How to get good files; appended to every message. */
    static final String FETCH_HINT = "run ./fishleg fetch-mnist (or scripts/fetch-mnist.sh) to fetch MNIST";

    private IdxReader() {}

    /** An IDX image file: {@code count} images of {@code rows x cols}, row-major, values in [0,1]. */
    public record Images(Path file, int count, int rows, int cols, float[] pixels) {
        /** rows x cols. */
        int pixelsPerImage() { return rows * cols; }
    }

    /** Images with their labels (same count). */
    public record LabelledImages(Images images, int[] labels) {}

    /** Reads an image file; every problem is a one-line {@link DataException}. */
    static Images readImages(Path file) {
        byte[] b = readAll(file, "IDX images file", "unsigned-byte images, magic " + IMAGES_MAGIC);
        String what = "IDX images file " + show(file);
        checkMagic(b, what, IMAGES_MAGIC);
        checkHeader(b, what, IMAGES_HEADER_BYTES, "magic " + IMAGES_MAGIC + ", count, rows, cols");
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN);
        int count = h.getInt(4);
        int rows = h.getInt(8);
        int cols = h.getInt(12);
        if (count < 0 || rows <= 0 || cols <= 0)
            throw new DataException(what + ": bad dimensions in header at byte offset 4: expected count >= 0, rows > 0, cols > 0, found count "
                    + count + ", rows " + rows + ", cols " + cols + "; " + FETCH_HINT);
        if ((long) rows * cols > Integer.MAX_VALUE - 16)
            throw new DataException(what + ": bad dimensions in header at byte offset 8: rows " + rows + " x cols " + cols
                    + " pixels per image do not fit in one array; " + FETCH_HINT);
        // rows * cols * count may exceed a long (each is up to 2^31 - 1): multiply checked, so that a header whose
        // product wraps around to the file's length is refused instead of read as a tiny file of huge images
        long expected;
        try {
            expected = Math.multiplyExact(Math.multiplyExact((long) count, rows), cols);
        } catch (ArithmeticException e) {
            throw new DataException(what + ": too large: count " + count + " x rows " + rows + " x cols " + cols
                    + " bytes do not fit in a file; " + FETCH_HINT);
        }
        checkData(b, what, IMAGES_HEADER_BYTES, expected, count + " images x " + rows + " x " + cols);
        float[] px = new float[(int) expected];
        for (int i = 0; i < px.length; i++) px[i] = (b[IMAGES_HEADER_BYTES + i] & 0xff) / 255f;
        return new Images(file, count, rows, cols, px);
    }

    /** Reads a label file; every problem is a one-line {@link DataException}. */
    static int[] readLabels(Path file) {
        byte[] b = readAll(file, "IDX labels file", "unsigned-byte labels, magic " + LABELS_MAGIC);
        String what = "IDX labels file " + show(file);
        checkMagic(b, what, LABELS_MAGIC);
        checkHeader(b, what, LABELS_HEADER_BYTES, "magic " + LABELS_MAGIC + ", count");
        int count = ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN).getInt(4);
        if (count < 0)
            throw new DataException(what + ": bad count in header at byte offset 4: expected count >= 0, found " + count + "; " + FETCH_HINT);
        checkData(b, what, LABELS_HEADER_BYTES, count, count + " labels");
        int[] labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = b[LABELS_HEADER_BYTES + i] & 0xff;
        return labels;
    }

    /** Reads an image file and its label file and checks that their counts agree. */
    static LabelledImages readLabelled(Path imagesFile, Path labelsFile) {
        Images images = readImages(imagesFile);
        int[] labels = readLabels(labelsFile);
        if (labels.length != images.count())
            throw new DataException("IDX count mismatch: images file " + show(imagesFile) + " has " + images.count()
                    + " images but labels file " + show(labelsFile) + " has " + labels.length
                    + " labels: expected equal counts; " + FETCH_HINT);
        return new LabelledImages(images, labels);
    }

    // ------------------------------------------------------------------------------------------------

    static String show(Path file) {
        return file.toAbsolutePath().normalize().toString();
    }

    private static byte[] readAll(Path file, String kind, String expected) {
        if (!Files.exists(file))
            throw new DataException(kind + " not found: " + show(file) + " (expected " + expected + "); " + FETCH_HINT);
        if (!Files.isRegularFile(file))
            throw new DataException(kind + " " + show(file) + " is not a regular file (expected " + expected + "); " + FETCH_HINT);
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new DataException(kind + " not found: " + show(file) + " (expected " + expected + "); " + FETCH_HINT, e);
        } catch (IOException | OutOfMemoryError e) {
            throw new DataException(kind + " " + show(file) + ": cannot read (" + oneLine(e) + "); " + FETCH_HINT, e);
        }
    }

    private static void checkMagic(byte[] b, String what, int expected) {
        if (b.length < 4)
            throw new DataException(what + ": truncated IDX header at byte offset " + b.length + ": expected a 4-byte magic "
                    + expected + ", found a file of " + b.length + " bytes; " + FETCH_HINT);
        int magic = ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN).getInt(0);
        if (magic == expected) return;
        String found;
        if ((b[0] & 0xff) == 0x1f && (b[1] & 0xff) == 0x8b) found = "gzip data (decompress it with gunzip first)";
        else if (magic == LABELS_MAGIC) found = "a labels file";
        else if (magic == IMAGES_MAGIC) found = "an images file";
        else found = "not an unsigned-byte IDX file";
        throw new DataException(what + ": wrong magic number at byte offset 0: expected " + expected
                + String.format(" (0x%08x)", expected) + ", found " + magic + String.format(" (0x%08x, ", magic) + found + "); "
                + FETCH_HINT);
    }

    private static void checkHeader(byte[] b, String what, int headerBytes, String fields) {
        if (b.length < headerBytes)
            throw new DataException(what + ": truncated IDX header at byte offset " + b.length + ": expected " + headerBytes
                    + " header bytes (" + fields + "), found " + b.length + "; " + FETCH_HINT);
    }

    private static void checkData(byte[] b, String what, int headerBytes, long expected, String shape) {
        long found = (long) b.length - headerBytes;
        if (found < expected)
            throw new DataException(what + ": truncated IDX data at byte offset " + b.length + ": expected " + expected
                    + " data bytes (" + shape + ") after the " + headerBytes + "-byte header, found " + found + "; " + FETCH_HINT);
        if (found > expected)
            throw new DataException(what + ": unexpected trailing bytes at byte offset " + (headerBytes + expected) + ": expected "
                    + expected + " data bytes (" + shape + ") after the " + headerBytes + "-byte header, found " + found + "; " + FETCH_HINT);
        if (expected > Integer.MAX_VALUE - 16)
            throw new DataException(what + ": too large: " + expected + " data bytes (" + shape + ")");
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage();
        String s = e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
        return s.replace('\n', ' ').replace('\r', ' ');
    }
}
