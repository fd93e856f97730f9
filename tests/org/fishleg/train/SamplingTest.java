package org.fishleg.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.data.Batcher;
import org.fishleg.data.Dataset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Batch order, device gathering of training and auxiliary batches, and their saved state. */
class SamplingTest {

    @Test
    void batchesFollowTheBatcherPermutationsAndDropTheRemainder() {
        IndexStream s = new IndexStream(10, 3);
        int[] p0 = Batcher.permutation(3, 0, 10), p1 = Batcher.permutation(3, 1, 10);
        IndexStream.Batch a = s.takeBatch(4);
        assertArrayEquals(p0, a.permutation);
        assertEquals(0, a.start);
        assertFalse(a.endsEpoch);
        IndexStream.Batch c = s.takeBatch(4);
        assertEquals(4, c.start);
        assertTrue(c.endsEpoch, "the second batch of 4 is the last full one of 10");
        assertEquals(1, s.epoch());
        IndexStream.Batch d = s.takeBatch(4);
        assertArrayEquals(p1, d.permutation);
        assertEquals(0, d.start);
        long[] st = s.state();
        IndexStream t = new IndexStream(10, 999);
        t.restore(st);
        assertEquals(s.takeBatch(4).start, t.takeBatch(4).start);
        assertArrayEquals(s.takeBatch(4).permutation, t.takeBatch(4).permutation);
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void auxiliaryBatchesAreGatheredOnTheBackendAcrossEpochs(Backend b) {
        int n = 10, d = 3;
        float[] x = new float[n * d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) x[i * d + j] = i * 10 + j;
        try (DeviceDataset data = DeviceDataset.upload(b, Dataset.autoencoder("t", x, n, d, null)); Tensor out = b.zeros(4, d)) {
            assertTrue(data.targetsAreInputs());
            DeviceAuxSource aux = new DeviceAuxSource(b, data.x(), 77);
            int[] p0 = Batcher.permutation(77, 0, n), p1 = Batcher.permutation(77, 1, n);
            int[] expectRows = {p0[0], p0[1], p0[2], p0[3], p0[4], p0[5], p0[6], p0[7], p0[8], p0[9], p1[0], p1[1]};
            for (int k = 0; k < 3; k++) {
                aux.next(out);
                float[] got = b.download(out);
                for (int r = 0; r < 4; r++)
                    for (int j = 0; j < d; j++)
                        assertEquals(expectRows[k * 4 + r] * 10 + j, got[r * d + j], 0f, "aux batch " + k + " row " + r);
            }
            assertEquals(3, aux.batches());
            // continuing from a saved state gives the same next batch
            DeviceAuxSource again = new DeviceAuxSource(b, data.x(), 1);
            again.stream().restore(aux.stream().state());
            aux.next(out);
            float[] one = b.download(out);
            again.next(out);
            assertTrue(Arrays.equals(one, b.download(out)));
        }
    }

    /** Indices of a takeBatch result. */
    private static int[] indices(IndexStream.Batch bt, int rows) {
        return Arrays.copyOfRange(bt.permutation, bt.start, bt.start + rows);
    }

    @Test
    void bootstrapDrawsWithReplacementAndTheSameSeedGivesTheSameIndices() {
        int n = 40;
        IndexStream s = new IndexStream(n, 5, Sampling.BOOTSTRAP), same = new IndexStream(n, 5, Sampling.BOOTSTRAP);
        IndexStream other = new IndexStream(n, 6, Sampling.BOOTSTRAP);
        assertEquals(Sampling.BOOTSTRAP, s.sampling());
        int batchesWithRepeats = 0, differFromOtherSeed = 0;
        long[] count = new long[n];
        int steps = 500;
        for (int k = 0; k < steps; k++) {
            IndexStream.Batch bt = s.takeBatch(n);
            assertTrue(bt.endsEpoch, "a batch of n ends its epoch");
            int[] idx = indices(bt, n);
            assertArrayEquals(idx, indices(same.takeBatch(n), n), "same seed, same draws, batch " + k);
            assertArrayEquals(Batcher.bootstrap(5, k, n), idx, "batch k is the bootstrap sample of epoch k");
            if (!Arrays.equals(idx, indices(other.takeBatch(n), n))) differFromOtherSeed++;
            boolean[] seen = new boolean[n];
            boolean repeat = false;
            for (int i : idx) {
                assertTrue(i >= 0 && i < n, "index " + i);
                repeat |= seen[i];
                seen[i] = true;
                count[i]++;
            }
            if (repeat) batchesWithRepeats++;
        }
        assertEquals(steps, s.epoch());
        // P(no repeat in 40 draws from 40) = 40!/40^40 ~ 1e-16: every batch repeats some example
        assertEquals(steps, batchesWithRepeats, "draws are with replacement");
        assertEquals(steps, differFromOtherSeed, "another seed draws other batches");
        // uniform: each index is drawn 500 times in expectation (sd ~ 22); allow 6 sd
        for (int i = 0; i < n; i++) assertTrue(Math.abs(count[i] - steps) < 135, "index " + i + " drawn " + count[i] + " times");
        // batches smaller than n: n / rows per epoch, the rest of the epoch's draws unused, and an exact restore
        IndexStream t = new IndexStream(10, 3, Sampling.BOOTSTRAP);
        int[] e0 = Batcher.bootstrap(3, 0, 10), e1 = Batcher.bootstrap(3, 1, 10);
        assertArrayEquals(Arrays.copyOfRange(e0, 0, 4), indices(t.takeBatch(4), 4));
        IndexStream.Batch second = t.takeBatch(4);
        assertArrayEquals(Arrays.copyOfRange(e0, 4, 8), indices(second, 4));
        assertTrue(second.endsEpoch);
        long[] st = t.state();
        IndexStream u = new IndexStream(10, 999, Sampling.BOOTSTRAP);
        u.restore(st);
        int[] next = indices(t.takeBatch(4), 4);
        assertArrayEquals(Arrays.copyOfRange(e1, 0, 4), next);
        assertArrayEquals(next, indices(u.takeBatch(4), 4), "restored stream continues exactly");
    }

    @Test
    void fullSamplingUsesEveryIndexEveryStep() {
        IndexStream s = new IndexStream(10, 3, Sampling.FULL);
        int[] all = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        for (int k = 0; k < 5; k++) {
            IndexStream.Batch bt = s.takeBatch(10);
            assertArrayEquals(all, indices(bt, 10), "step " + k);
            assertTrue(bt.endsEpoch);
            assertEquals(k + 1, s.epoch());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.takeBatch(4));
        assertTrue(e.getMessage().contains("full sampling"), e.getMessage());
        IndexStream t = new IndexStream(10, 3, Sampling.FULL);
        t.restore(s.state());
        assertArrayEquals(all, indices(t.takeBatch(10), 10));
    }

    @Test
    void samplingNames() {
        assertEquals(Sampling.BOOTSTRAP, Sampling.parse(" Bootstrap"));
        assertEquals("full", Sampling.FULL.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sampling.parse("replace"));
        assertTrue(e.getMessage().contains("shuffle, bootstrap or full"), e.getMessage());
    }

    /** The auxiliary batches follow the sampling: bootstrap draws, or the whole set in order for full. */
    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void auxiliaryBatchesFollowTheSampling(Backend b) {
        int n = 10, d = 3;
        float[] x = new float[n * d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) x[i * d + j] = i * 10 + j;
        try (DeviceDataset data = DeviceDataset.upload(b, Dataset.autoencoder("t", x, n, d, null));
             Tensor four = b.zeros(4, d); Tensor all = b.zeros(n, d)) {
            DeviceAuxSource boot = new DeviceAuxSource(b, data.x(), 77, Sampling.BOOTSTRAP);
            int[] e0 = Batcher.bootstrap(77, 0, n), e1 = Batcher.bootstrap(77, 1, n);
            int[] expectRows = {e0[0], e0[1], e0[2], e0[3], e0[4], e0[5], e0[6], e0[7], e0[8], e0[9], e1[0], e1[1]};
            for (int k = 0; k < 3; k++) {
                boot.next(four);
                float[] got = b.download(four);
                for (int r = 0; r < 4; r++)
                    for (int j = 0; j < d; j++)
                        assertEquals(expectRows[k * 4 + r] * 10 + j, got[r * d + j], 0f, "bootstrap aux batch " + k + " row " + r);
            }
            DeviceAuxSource full = new DeviceAuxSource(b, data.x(), 77, Sampling.FULL);
            for (int k = 0; k < 3; k++) {
                full.next(all);
                assertArrayEquals(x, b.download(all), "full aux batch " + k + " is the whole set in order");
            }
        }
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared: JUnit must not close them
    @MethodSource("org.fishleg.backend.TestBackends#arguments")
    void uploadKeepsEveryRowAndSeparateTargets(Backend b) {
        int n = 5000, d = 3; // more than one upload chunk
        float[] x = new float[n * d], y = new float[n * 2];
        for (int i = 0; i < x.length; i++) x[i] = i;
        for (int i = 0; i < y.length; i++) y[i] = -i;
        try (DeviceDataset data = DeviceDataset.upload(b, Dataset.of("t", x, n, d, y, 2, null))) {
            assertFalse(data.targetsAreInputs());
            assertArrayEquals(x, b.download(data.x()));
            assertArrayEquals(y, b.download(data.y()));
        }
    }
}
