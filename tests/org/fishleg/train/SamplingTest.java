package org.fishleg.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
