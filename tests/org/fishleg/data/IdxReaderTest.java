package org.fishleg.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {
    static {
        TmpDirs.ensure();
    }

    @TempDir Path dir;

    static byte[] idxImages(int count, int rows, int cols, byte[] pixels) {
        ByteBuffer b = ByteBuffer.allocate(16 + pixels.length);     // big-endian by default
        b.putInt(2051).putInt(count).putInt(rows).putInt(cols).put(pixels);
        return b.array();
    }

    static byte[] idxLabels(int count, byte[] labels) {
        ByteBuffer b = ByteBuffer.allocate(8 + labels.length);
        b.putInt(2049).putInt(count).put(labels);
        return b.array();
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private static byte[] pixels(int n) {
        byte[] px = new byte[n];
        for (int i = 0; i < n; i++) px[i] = (byte) (i * 37 + 11);   // covers 0..255, including values > 127
        return px;
    }

    private static void assertOneLine(DataException e, Path file, String... fragments) {
        String m = e.getMessage();
        assertFalse(m.contains("\n"), "message must be one line: " + m);
        assertTrue(m.contains(file.toAbsolutePath().normalize().toString()), "message must name the file: " + m);
        assertTrue(m.contains("./fishleg fetch-mnist"), "message must say how to fetch: " + m);
        for (String f : fragments) assertTrue(m.contains(f), "message must contain '" + f + "': " + m);
    }

    @Test
    void roundTripImagesAndLabels() throws IOException {
        byte[] px = pixels(3 * 4 * 5);
        Path img = write("imgs", idxImages(3, 4, 5, px));
        byte[] lb = {7, 0, (byte) 200};
        Path lab = write("labs", idxLabels(3, lb));

        IdxReader.LabelledImages li = IdxReader.readLabelled(img, lab);
        IdxReader.Images im = li.images();
        assertEquals(3, im.count());
        assertEquals(4, im.rows());
        assertEquals(5, im.cols());
        assertEquals(20, im.pixelsPerImage());
        assertEquals(60, im.pixels().length);
        for (int i = 0; i < px.length; i++) {
            assertEquals((px[i] & 0xff) / 255f, im.pixels()[i], 0f, "pixel " + i);
            assertEquals(px[i] & 0xff, Math.round(im.pixels()[i] * 255f), "pixel " + i + " round trip");
        }
        assertArrayEquals(new int[] {7, 0, 200}, li.labels());
    }

    @Test
    void extremesScaleToZeroAndOne() throws IOException {
        Path img = write("imgs", idxImages(1, 1, 2, new byte[] {0, (byte) 255}));
        float[] p = IdxReader.readImages(img).pixels();
        assertEquals(0f, p[0]);
        assertEquals(1f, p[1]);
    }

    @Test
    void missingFile() {
        Path p = dir.resolve("train-images-idx3-ubyte");
        DataException e = assertThrows(DataException.class, () -> IdxReader.readImages(p));
        assertOneLine(e, p, "not found", "2051");
        Path q = dir.resolve("train-labels-idx1-ubyte");
        DataException e2 = assertThrows(DataException.class, () -> IdxReader.readLabels(q));
        assertOneLine(e2, q, "not found", "2049");
    }

    @Test
    void truncatedHeader() throws IOException {
        byte[] full = idxImages(2, 2, 2, pixels(8));
        Path p = write("short-header", Arrays.copyOf(full, 10));
        DataException e = assertThrows(DataException.class, () -> IdxReader.readImages(p));
        assertOneLine(e, p, "truncated IDX header", "byte offset 10", "expected 16 header bytes", "found 10");

        Path q = write("tiny", new byte[] {0, 0});
        DataException e2 = assertThrows(DataException.class, () -> IdxReader.readLabels(q));
        assertOneLine(e2, q, "truncated IDX header", "found a file of 2 bytes");
    }

    @Test
    void wrongMagic() throws IOException {
        Path labelsAsImages = write("labels", idxLabels(2, new byte[] {1, 2}));
        DataException e = assertThrows(DataException.class, () -> IdxReader.readImages(labelsAsImages));
        assertOneLine(e, labelsAsImages, "wrong magic", "byte offset 0", "expected 2051", "found 2049");

        Path imagesAsLabels = write("images", idxImages(1, 1, 1, new byte[] {3}));
        DataException e2 = assertThrows(DataException.class, () -> IdxReader.readLabels(imagesAsLabels));
        assertOneLine(e2, imagesAsLabels, "wrong magic", "expected 2049", "found 2051");

        Path gz = write("images.gz", new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        DataException e3 = assertThrows(DataException.class, () -> IdxReader.readImages(gz));
        assertOneLine(e3, gz, "wrong magic", "expected 2051", "gzip");
    }

    @Test
    void truncatedData() throws IOException {
        byte[] full = idxImages(3, 4, 5, pixels(60));
        Path p = write("short-data", Arrays.copyOf(full, 16 + 50));
        DataException e = assertThrows(DataException.class, () -> IdxReader.readImages(p));
        assertOneLine(e, p, "truncated IDX data", "expected 60 data bytes", "3 images x 4 x 5", "found 50");

        byte[] lab = idxLabels(10, new byte[10]);
        Path q = write("short-labels", Arrays.copyOf(lab, 8 + 4));
        DataException e2 = assertThrows(DataException.class, () -> IdxReader.readLabels(q));
        assertOneLine(e2, q, "truncated IDX data", "expected 10 data bytes", "found 4");
    }

    @Test
    void trailingBytesAreAnError() throws IOException {
        byte[] full = idxLabels(2, new byte[] {1, 2});
        Path p = write("long", Arrays.copyOf(full, full.length + 3));
        DataException e = assertThrows(DataException.class, () -> IdxReader.readLabels(p));
        assertOneLine(e, p, "trailing bytes", "expected 2 data bytes", "found 5");
    }

    @Test
    void countMismatch() throws IOException {
        Path img = write("imgs", idxImages(3, 2, 2, pixels(12)));
        Path lab = write("labs", idxLabels(2, new byte[] {1, 2}));
        DataException e = assertThrows(DataException.class, () -> IdxReader.readLabelled(img, lab));
        assertOneLine(e, img, "count mismatch", "3 images", "2 labels", "expected equal counts");
        assertTrue(e.getMessage().contains(lab.toAbsolutePath().normalize().toString()), e.getMessage());
    }

    @Test
    void badDimensions() throws IOException {
        Path p = write("neg", idxImages(-1, 28, 28, new byte[0]));
        DataException e = assertThrows(DataException.class, () -> IdxReader.readImages(p));
        assertOneLine(e, p, "bad dimensions", "count -1");
    }
}
