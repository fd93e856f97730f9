package org.fishleg.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FacesTest {
    static {
        TmpDirs.ensure();
    }

    static Path mat;

    @BeforeAll
    static void findFile() {
        mat = Faces.defaultMatFile();
    }

    private static void assumeFile() {
        Assumptions.assumeTrue(Files.isRegularFile(mat), "olivettifaces.mat not at " + mat.toAbsolutePath()
                + " (shared/datasets/olivetti); FACES tests skipped");
    }

    @Test
    void matParserCheckValues() {
        assumeFile();
        Faces.verify(mat);
        Faces.Olivetti o = Faces.readOlivetti(mat);
        assertEquals(400, o.count());
        assertEquals(64, o.side());
        assertEquals(400 * 4096, o.images().length);
        float[] first = Arrays.copyOf(o.images(), 6);
        assertArrayEquals(new float[] {75, 89, 101, 107, 128, 147}, first, 0f, "image 0, upright, row-major");
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (float v : o.images()) {
            min = Math.min(min, v);
            max = Math.max(max, v);
            assertEquals(Math.rint(v), v, 0f, "grey levels are integers");
        }
        assertTrue(min >= 0 && max <= 255 && max > 200, "grey range " + min + ".." + max);
        assertEquals(3, Faces.Olivetti.person(35));
    }

    @Test
    void splitShapesAndNormalisation() {
        assumeFile();
        int sub = 46;                               // 9 variants per face: 3,600 images
        Splits s = Faces.load(mat, sub);
        int[] sizes = Faces.splitSizes(sub);
        assertArrayEquals(new int[] {2250, 450, 900}, sizes);
        assertArrayEquals(new int[] {103_500, 20_700, 41_400}, Faces.splitSizes(1));
        assertEquals(2250, s.train().n());
        assertEquals(450, s.validation().n());
        assertEquals(900, s.test().n());
        for (Dataset d : new Dataset[] {s.train(), s.validation(), s.test()}) {
            assertEquals(625, d.d());
            assertTrue(d.targetsAreInputs());
            assertTrue(d.name().startsWith("FACES-like (regenerated from Olivetti)"), d.name());
        }
        assertEquals(0, s.train().label(0));
        assertEquals(24, s.train().label(2249));
        assertEquals(25, s.validation().label(0));
        assertEquals(29, s.validation().label(449));
        assertEquals(30, s.test().label(0));
        assertEquals(39, s.test().label(899));

        Dataset tr = s.train();
        int n = tr.n();
        float[] x = tr.copyX();
        double avgVar = 0;
        for (int j = 0; j < 625; j++) {
            double m = 0, v = 0;
            for (int i = 0; i < n; i++) m += x[i * 625 + j];
            m /= n;
            assertEquals(0.0, m, 1e-4, "training mean of pixel " + j);
            for (int i = 0; i < n; i++) v += (x[i * 625 + j] - m) * (x[i * 625 + j] - m);
            avgVar += v / n;
        }
        avgVar /= 625;
        assertEquals(1.0, avgVar, 1e-4, "average pixel variance on the training split");

        // the held-out splits use the training statistics: near, not exactly, zero mean / unit variance
        float[] xt = s.test().copyX();
        double mt = 0;
        for (float v : xt) mt += v;
        mt /= xt.length;
        assertTrue(Math.abs(mt) < 0.5, "test mean " + mt);
    }

    @Test
    void subsampledLoadIsDeterministic() {
        assumeFile();
        Splits a = Faces.load(mat, 207);
        Splits b = Faces.load(mat, 207);
        assertArrayEquals(a.test().copyX(), b.test().copyX());
        assertEquals(200, a.test().n());            // 100 faces x 2 variants
    }

    @Test
    void missingFileIsAClearError(@TempDir Path tmp) {
        Path nowhere = tmp.resolve("olivettifaces.mat");
        DataException e = assertThrows(DataException.class, () -> Faces.load(nowhere, 46));
        assertTrue(e.getMessage().contains(nowhere.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("never replaced"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void notAMatFileIsAClearError(@TempDir Path tmp) throws IOException {
        Path bad = tmp.resolve("bad.mat");
        Files.write(bad, new byte[200]);
        DataException e = assertThrows(DataException.class, () -> Faces.readOlivetti(bad));
        assertTrue(e.getMessage().contains("not a MAT v5 file") && e.getMessage().contains("byte offset 0"), e.getMessage());
    }
}
