package org.fishleg.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Fuzz targets for the data-file readers (IDX images, IDX labels, MAT v5). The property: the reader returns a
 * well-formed object or throws a {@link DataException} with a one-line message; never another exception, an
 * OutOfMemoryError or a hang. Under plain {@code mvn test} each target runs its seed corpus and every finding
 * kept as a regression input (tests/resources/org/fishleg/data/DataReadersFuzzTestInputs/TARGET/);
 * {@code JAZZER_FUZZ=1} fuzzes one target (scripts/fuzz.sh).
 */
class DataReadersFuzzTest {
    /** Fuzzing time of one target per run: CI's short run; scripts/fuzz.sh repeats runs for longer ones. */
    static final String RUN = "30s";

    /** The seeds named valid-* must load, so that the fuzzer starts from files that reach the readers' end. */
    @org.junit.jupiter.api.Test
    void validSeedsLoad() throws Exception {
        int n = 0;
        for (Path f : FuzzFiles.validSeeds(getClass(), "idxImages")) { IdxReader.readImages(f); n++; }
        for (Path f : FuzzFiles.validSeeds(getClass(), "idxLabels")) { IdxReader.readLabels(f); n++; }
        for (Path f : FuzzFiles.validSeeds(getClass(), "matV5")) { assertTrue(!MatV5.read(f).isEmpty(), f.toString()); n++; }
        assertEquals(8, n, "seed files found");
    }

    @FuzzTest(maxDuration = RUN)
    void idxImages(byte[] input) throws IOException {
        Path f = FuzzFiles.write("idx-images", input);
        IdxReader.Images im;
        try {
            im = IdxReader.readImages(f);
        } catch (DataException e) {
            FuzzFiles.checkOneLine(e);
            return;
        }
        assertTrue(im.count() >= 0 && im.rows() > 0 && im.cols() > 0);
        assertEquals((long) im.count() * im.rows() * im.cols(), im.pixels().length);
        assertEquals((long) im.rows() * im.cols(), im.pixelsPerImage());
        for (float v : im.pixels()) assertTrue(v >= 0 && v <= 1);
    }

    @FuzzTest(maxDuration = RUN)
    void idxLabels(byte[] input) throws IOException {
        Path f = FuzzFiles.write("idx-labels", input);
        int[] labels;
        try {
            labels = IdxReader.readLabels(f);
        } catch (DataException e) {
            FuzzFiles.checkOneLine(e);
            return;
        }
        assertEquals(input.length - IdxReader.LABELS_HEADER_BYTES, labels.length);
        for (int v : labels) assertTrue(v >= 0 && v <= 255);
    }

    @FuzzTest(maxDuration = RUN)
    void matV5(byte[] input) throws IOException {
        Path f = FuzzFiles.write("mat", input);
        List<MatV5.Matrix> all;
        try {
            all = MatV5.read(f);
        } catch (DataException e) {
            FuzzFiles.checkOneLine(e);
            return;
        }
        for (MatV5.Matrix m : all) {
            for (int d : m.dims()) assertTrue(d >= 0, m.toString());
            assertEquals(m.numel(), m.real().length, m.toString());
        }
    }
}
