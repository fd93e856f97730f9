package org.fishleg.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MnistTest {
    static {
        TmpDirs.ensure();
    }

    @TempDir Path tmp;

    @Test
    void realMnistShapesRangeAndLabels() {
        Path dir = Mnist.defaultDir();
        List<String> problems = Mnist.problems(dir);
        Assumptions.assumeTrue(problems.isEmpty(), "MNIST not in " + dir.toAbsolutePath() + " (" + String.join("; ", problems)
                + "); run scripts/fetch-mnist.sh first");
        Splits s = Mnist.load(dir);
        Dataset train = s.train(), test = s.test();
        assertNull(s.validation());
        assertEquals(60000, train.n());
        assertEquals(784, train.d());
        assertEquals(10000, test.n());
        assertEquals(784, test.d());
        assertTrue(train.targetsAreInputs() && test.targetsAreInputs());
        assertEquals(784, train.k());
        assertEquals(5, train.label(0), "first training label");
        assertEquals(7, test.label(0), "first test label");

        for (Dataset ds : List.of(train, test)) {
            float[] x = ds.copyX();
            float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
            double sum = 0;
            for (float v : x) {
                min = Math.min(min, v);
                max = Math.max(max, v);
                sum += v;
            }
            assertEquals(0f, min);
            assertEquals(1f, max);
            double mean = sum / x.length;
            assertTrue(mean > 0.12 && mean < 0.14, "mean pixel " + mean);   // MNIST mean is about 0.13
            int[] counts = new int[10];
            for (int l : ds.copyLabels()) {
                assertTrue(l >= 0 && l <= 9, "label " + l);
                counts[l]++;
            }
            for (int c : counts) assertTrue(c > ds.n() / 20, "each digit present");
        }
        assertEquals(train.x(59999, 400), train.y(59999, 400));
    }

    @Test
    void verifySaysWhichFileIsWrong() throws IOException {
        for (String f : Mnist.FILES) Files.write(tmp.resolve(f), new byte[] {1, 2, 3});
        Files.delete(tmp.resolve(Mnist.TEST_LABELS));
        List<String> p = Mnist.problems(tmp);
        assertEquals(4, p.size());
        assertTrue(p.get(0).startsWith(Mnist.TRAIN_IMAGES + " has sha256 "), p.get(0));
        assertTrue(p.get(0).contains("expected " + Mnist.SHA256.get(Mnist.TRAIN_IMAGES)), p.get(0));
        assertEquals(Mnist.TEST_LABELS + " is missing", p.get(3));
        DataException e = assertThrows(DataException.class, () -> Mnist.verify(tmp));
        assertTrue(e.getMessage().contains(Mnist.TRAIN_IMAGES + " has sha256"), e.getMessage());
        assertTrue(e.getMessage().contains("./fishleg fetch-mnist"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void loadFromMissingDirectorySaysHowToFetch() {
        Path nowhere = tmp.resolve("no-such-dir");
        DataException e = assertThrows(DataException.class, () -> Mnist.load(nowhere));
        assertTrue(e.getMessage().contains(nowhere.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("./fishleg fetch-mnist"), e.getMessage());
    }

    @Test
    void loadSmallGeneratedMnist() throws IOException {
        byte[] px = new byte[4 * 4 * 3];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 5);
        Files.write(tmp.resolve(Mnist.TRAIN_IMAGES), IdxReaderTest.idxImages(3, 4, 4, px));
        Files.write(tmp.resolve(Mnist.TRAIN_LABELS), IdxReaderTest.idxLabels(3, new byte[] {5, 0, 4}));
        Files.write(tmp.resolve(Mnist.TEST_IMAGES), IdxReaderTest.idxImages(1, 4, 4, new byte[16]));
        Files.write(tmp.resolve(Mnist.TEST_LABELS), IdxReaderTest.idxLabels(2, new byte[] {1, 2}));
        DataException e = assertThrows(DataException.class, () -> Mnist.load(tmp));
        assertTrue(e.getMessage().contains("count mismatch"), e.getMessage());
        Files.write(tmp.resolve(Mnist.TEST_LABELS), IdxReaderTest.idxLabels(1, new byte[] {1}));
        Splits s = Mnist.load(tmp);
        assertEquals(3, s.train().n());
        assertEquals(16, s.train().d());
        assertEquals(5, s.train().label(0));
        assertEquals(10 / 255f, s.train().x(0, 2));
        assertEquals(1, s.test().n());
    }

    @Test
    void defaultDirHonoursFishlegData() {
        assertEquals(Path.of("data", "mnist"), Mnist.defaultDir(Map.of()));
        assertEquals(Path.of("/some/where", "mnist"), Mnist.defaultDir(Map.of("FISHLEG_DATA", "/some/where")));
    }
}
