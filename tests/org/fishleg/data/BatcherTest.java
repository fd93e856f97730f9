package org.fishleg.data;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class BatcherTest {
    /** n examples of width d whose row i holds i*d .. i*d+d-1, targets -x (k = 2), labels i. */
    static Dataset indexed(int n, int d) {
        float[] x = new float[n * d];
        for (int i = 0; i < x.length; i++) x[i] = i;
        float[] y = new float[n * 2];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            y[2 * i] = -i;
            y[2 * i + 1] = -i - 0.5f;
            labels[i] = i;
        }
        return Dataset.of("indexed", x, n, d, y, 2, labels);
    }

    /** The example indices of the next {@code batches} batches, read back from the x values. */
    private static List<int[]> take(Batcher b, int batches) {
        Dataset ds = b.dataset();
        int d = ds.d();
        float[] x = new float[b.batchSize() * d];
        float[] y = new float[b.batchSize() * ds.k()];
        int[] labels = new int[b.batchSize()];
        List<int[]> out = new ArrayList<>();
        for (int t = 0; t < batches; t++) {
            int rows = b.nextBatch(x, y, labels);
            int[] idx = new int[rows];
            for (int r = 0; r < rows; r++) {
                idx[r] = (int) x[r * d] / d;
                for (int j = 0; j < d; j++) assertEquals(idx[r] * d + j, x[r * d + j], 0f, "row copied whole");
                assertEquals(-idx[r], y[r * 2], 0f, "target row matches input row");
                assertEquals(-idx[r] - 0.5f, y[r * 2 + 1], 0f);
                assertEquals(idx[r], labels[r], "label matches input row");
            }
            assertArrayEquals(idx, b.lastBatchIndices());
            out.add(idx);
        }
        return out;
    }

    @Test
    void sameSeedSameBatchesDifferentSeedDifferent() {
        Dataset ds = indexed(103, 3);
        List<int[]> a = take(new Batcher(ds, 10, 42L, false), 40);
        List<int[]> b = take(new Batcher(ds, 10, 42L, false), 40);
        List<int[]> c = take(new Batcher(ds, 10, 43L, false), 40);
        for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i), b.get(i), "batch " + i);
        boolean differs = false;
        for (int i = 0; i < a.size(); i++) differs |= !Arrays.equals(a.get(i), c.get(i));
        assertTrue(differs, "another seed gives other batches");
    }

    @Test
    void everyExampleOncePerEpochWithoutDropLast() {
        Dataset ds = indexed(103, 2);
        Batcher b = new Batcher(ds, 10, 7L, false);
        assertEquals(11, b.batchesPerEpoch());
        for (int epoch = 0; epoch < 3; epoch++) {
            assertEquals(epoch, b.epoch());
            assertEquals(0, b.stepInEpoch());
            int[] seen = new int[103];
            for (int s = 0; s < 11; s++) {
                assertEquals(s, b.stepInEpoch());
                int[] idx = take(b, 1).get(0);
                assertEquals(s < 10 ? 10 : 3, idx.length, "last batch holds the remainder");
                for (int i : idx) seen[i]++;
            }
            for (int i = 0; i < seen.length; i++) assertEquals(1, seen[i], "example " + i + " in epoch " + epoch);
        }
        assertEquals(3, b.epoch());
    }

    @Test
    void dropLastSkipsTheRemainderButStillCoversDistinctExamples() {
        Dataset ds = indexed(103, 2);
        Batcher b = new Batcher(ds, 10, 7L, true);
        assertEquals(10, b.batchesPerEpoch());
        int[] seen = new int[103];
        for (int[] idx : take(b, 10)) {
            assertEquals(10, idx.length);
            for (int i : idx) seen[i]++;
        }
        assertEquals(1, b.epoch());
        int once = 0;
        for (int s : seen) {
            assertTrue(s <= 1);
            once += s;
        }
        assertEquals(100, once);
        assertThrows(IllegalArgumentException.class, () -> new Batcher(indexed(5, 1), 6, 1L, true));
    }

    @Test
    void reshufflesBetweenEpochs() {
        Dataset ds = indexed(50, 1);
        Batcher b = new Batcher(ds, 50, 3L, true);
        int[] e0 = take(b, 1).get(0);
        int[] e1 = take(b, 1).get(0);
        int[] e2 = take(b, 1).get(0);
        assertFalse(Arrays.equals(e0, e1));
        assertFalse(Arrays.equals(e1, e2));
        int[] identity = new int[50];
        Arrays.setAll(identity, i -> i);
        assertFalse(Arrays.equals(identity, e0), "the first epoch is shuffled too");
        int[] sorted = e1.clone();
        Arrays.sort(sorted);
        assertArrayEquals(identity, sorted);
        assertArrayEquals(Batcher.permutation(3L, 1, 50), e1, "epoch permutation is a function of seed and epoch");
    }

    @Test
    void stateSaveRestoreContinuesExactly() {
        Dataset ds = indexed(37, 2);
        Batcher a = new Batcher(ds, 5, 99L, false);
        take(a, 17);                                  // mid-epoch of epoch 2
        long[] st = a.state();
        List<int[]> expected = take(a, 30);

        Batcher b = new Batcher(ds, 5, 99L, false);   // fresh batcher, restored
        b.restore(st);
        assertEquals(2, b.epoch());
        assertEquals(17 - 2 * 8, b.stepInEpoch());
        List<int[]> got = take(b, 30);
        for (int i = 0; i < expected.size(); i++) assertArrayEquals(expected.get(i), got.get(i), "batch " + i + " after restore");
        assertEquals(a.epoch(), b.epoch());
        assertEquals(a.stepInEpoch(), b.stepInEpoch());
        assertArrayEquals(a.state(), b.state());

        // restoring into the same batcher rewinds it
        a.restore(st);
        List<int[]> again = take(a, 30);
        for (int i = 0; i < expected.size(); i++) assertArrayEquals(expected.get(i), again.get(i));

        // a state for other settings is refused
        Batcher other = new Batcher(ds, 5, 100L, false);
        assertThrows(IllegalArgumentException.class, () -> other.restore(st));
        Batcher otherSize = new Batcher(ds, 4, 99L, false);
        assertThrows(IllegalArgumentException.class, () -> otherSize.restore(st));
    }

    @Test
    void autoencoderTargetsAreInputs() {
        float[] x = new float[12];
        for (int i = 0; i < 12; i++) x[i] = i;
        Dataset ds = Dataset.autoencoder("ae", x, 4, 3, null);
        Batcher b = new Batcher(ds, 4, 5L, true);
        float[] xo = new float[12], yo = new float[12];
        assertEquals(4, b.nextBatch(xo, yo));
        assertArrayEquals(xo, yo);
        assertThrows(IllegalArgumentException.class, () -> b.nextBatch(new float[12], null, new int[4]), "no labels");
        assertThrows(IllegalArgumentException.class, () -> b.nextBatch(new float[11], null), "xOut too small");
    }
}
