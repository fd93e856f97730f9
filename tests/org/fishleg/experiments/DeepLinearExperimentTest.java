package org.fishleg.experiments;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.fishleg.backend.Backend;
import org.fishleg.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A short run of the deep-linear experiment end to end: runs, statistics, CSV and PNG files. */
class DeepLinearExperimentTest {

    @Test
    void shortRunWritesCsvPlotsAndConsistentStatistics(@TempDir Path dir) throws Exception {
        System.setProperty("java.awt.headless", "true");
        DeepLinearExperiment.Options o = DeepLinearExperiment.parse(new String[] {
            "--iterations", "30", "--eval-every", "10", "--warmup", "5", "--optimizers", "fishleg,momentum,adam@1e-4", "--out", dir.toString()});
        DeepLinearExperiment.Result r;
        try (Backend cpu = new CpuBackend()) {
            r = DeepLinearExperiment.run(o, cpu, new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        }
        assertTrue(r.checkLine.startsWith("check:"), r.checkLine);
        assertEquals(List.of("fishleg", "momentum", "adam@1e-4"), r.runs.stream().map(x -> x.name).toList());
        DeepLinearExperiment.Run f = r.run("fishleg");
        assertEquals(30, f.done);
        assertEquals(4, f.evals.size());
        for (double[] e : f.evals) {
            // exact auxiliary loss >= its optimum; the optimum is finite and negative
            assertTrue(e[4] < 0 && Double.isFinite(e[4]), "optimum " + e[4]);
            assertTrue(e[3] >= e[4] - 1e-6 * Math.abs(e[4]), "A " + e[3] + " below the optimum " + e[4]);
        }
        // at iteration 0 FishLeg has Q0 = s I, whose aux loss is the reference column
        assertEquals(f.evals.get(0)[5], f.evals.get(0)[3], 1e-5 * Math.abs(f.evals.get(0)[5]));
        // all optimizers start from the same student: same first loss
        double l0 = f.loss[0];
        for (DeepLinearExperiment.Run run : r.runs) assertEquals(l0, run.loss[0], 1e-3 * Math.abs(l0));
        DeepLinearExperiment.writeCsv(r, dir);
        DeepLinearExperiment.writePlots(r, dir);
        for (String n : new String[] {"dln-fishleg.csv", "dln-momentum.csv", "dln-adam@1e-4.csv", "dln-loss.png", "dln-aux.png"})
            assertTrue(Files.size(dir.resolve(n)) > 100, n);
        List<String> lines = Files.readAllLines(dir.resolve("dln-fishleg.csv"));
        assertTrue(lines.get(1).startsWith("iteration,train_loss"));
        assertEquals(2 + 31, lines.size());
        assertTrue(r.table().contains("| fishleg |"));
    }
}
