package org.fishleg.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Path;
import org.fishleg.data.FuzzFiles;
import org.fishleg.nn.MlpSpec;

/**
 * Fuzz targets for {@link Checkpoint#read}: the reader returns a checkpoint that passes its own checks or
 * throws a one-line {@link CheckpointException}; never another exception, an OutOfMemoryError or a hang.
 * {@code raw} reads the mutated bytes as they are (mostly stopped by the structure and checksum checks);
 * {@code resealed} recomputes both checksums of any well-formed safetensors mutation first, so that the
 * meaning checks behind them (spec, shapes, ranges, stream positions) get fuzzed too. Seeds and kept findings:
 * tests/resources/org/fishleg/train/CheckpointFuzzTestInputs/TARGET/.
 */
class CheckpointFuzzTest {
    static final String RUN = "30s";

    /** The seeds named valid-* must load, so that the fuzzer starts from files that reach the reader's end. */
    @org.junit.jupiter.api.Test
    void validSeedsLoad() throws Exception {
        int n = 0;
        for (String t : new String[] {"raw", "resealed"})
            for (Path f : FuzzFiles.validSeeds(getClass(), t)) { check(f); Checkpoint.read(f); n++; }
        assertEquals(4, n, "seed files found");
    }

    @FuzzTest(maxDuration = RUN)
    void raw(byte[] input) throws IOException {
        check(FuzzFiles.write("raw.ckpt", input));
    }

    @FuzzTest(maxDuration = RUN)
    void resealed(byte[] input) throws IOException {
        Path f = FuzzFiles.write("in.ckpt", input);
        SafeTensors.Contents c;
        try {
            c = SafeTensors.read(f);
        } catch (SafeTensors.Format e) {
            return;                                  // not well-formed: the raw target covers it
        }
        try {
            Checkpoint.reseal(c);
        } catch (RuntimeException e) {
            return;                                  // nothing to reseal (e.g. no metadata to hash)
        }
        Path g = FuzzFiles.write("resealed.ckpt", new byte[0]);
        SafeTensors.write(c, g);
        check(g);
    }

    private static void check(Path f) {
        Checkpoint k;
        try {
            k = Checkpoint.read(f);
        } catch (CheckpointException e) {
            FuzzFiles.checkOneLine(e);
            return;
        }
        assertNotNull(k.modelSpec);
        assertEquals(MlpSpec.parse(k.modelSpec).paramCount() + (k.likelihood.startsWith("gaussian-learned") ? 1 : 0), k.params.length);
        for (float v : k.params) assertTrue(Float.isFinite(v));
        assertTrue(k.step >= 0 && k.lossCount >= 0 && k.lossCount <= k.step && k.batchSize >= 1);
        assertEquals(4, k.batchStream.length);
        assertEquals(4, k.auxStream.length);
    }
}
