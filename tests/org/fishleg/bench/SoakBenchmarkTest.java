package org.fishleg.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.fishleg.backend.Backend;
import org.fishleg.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A short soak (2000 steps, a few seconds): samples at the stated steps, and no backend allocation after warm-up. */
class SoakBenchmarkTest {
    @TempDir Path tmp;

    @Test
    void shortSoakKeepsBackendMemoryConstant() throws Exception {
        SoakBenchmark.Settings s = new SoakBenchmark.Settings();
        s.steps = 2000;
        s.every = 250;
        s.examples = 200;
        s.testExamples = 50;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        SoakBenchmark.Result r;
        try (Backend be = new CpuBackend(); PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            r = SoakBenchmark.run(be, s, tmp, out);
        }
        String text = buf.toString(StandardCharsets.UTF_8);
        assertEquals(8, r.samples().size(), text);
        assertEquals(2000, r.train().steps, text);
        for (int i = 0; i < 8; i++) assertEquals(250L * (i + 1), r.samples().get(i).step());
        long backend = r.samples().get(1).backendBytes();
        assertTrue(backend > 0, text);
        for (SoakBenchmark.Sample m : r.samples().subList(1, 8)) assertEquals(backend, m.backendBytes(), text);
        // the heap and RSS verdicts depend on what else runs in this JVM; only the backend's must hold here
        assertTrue(r.verdicts().stream().anyMatch(v -> v.contains("backend bytes in use") && v.endsWith(": flat")), text);
        assertTrue(text.contains("soak: "), text);
        assertTrue(Files.exists(tmp.resolve("soak-metrics.csv")));
    }
}
