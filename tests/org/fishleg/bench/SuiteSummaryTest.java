package org.fishleg.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.fishleg.plot.MetricsCsv;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The summary numbers of a benchmark suite, on hand-made metrics files. */
class SuiteSummaryTest {
    @TempDir Path tmp;

    static final String HEADER = "step,epoch,wall_seconds,train_loss,test_loss,train_set_loss,eval_seconds";

    private MetricsCsv csv(String name, String... rows) throws IOException {
        Path f = tmp.resolve(name);
        Files.writeString(f, HEADER + "\n" + String.join("\n", rows) + "\n");
        return MetricsCsv.read(f);
    }

    /** Seed 1: 10 steps per epoch, 1 s of evaluation per evaluation row; reaches 80 at epoch 1, 70 at epoch 2, never 60. */
    private MetricsCsv seed1() throws IOException {
        return csv("a1.csv",
                "0,0.0000,1.000,,500.0,501.0,1.000",
                "10,1.0000,4.000,120.0,79.0,78.0,2.000",
                "15,1.5000,5.000,75.0,,,2.000",
                "20,2.0000,8.000,70.0,69.0,66.0,3.000");
    }

    /** Seed 2: reaches 80 only at epoch 2. */
    private MetricsCsv seed2() throws IOException {
        return csv("a2.csv",
                "0,0.0000,1.000,,400.0,400.0,1.000",
                "10,1.0000,5.000,110.0,90.0,88.0,2.000",
                "20,2.0000,9.000,80.0,75.0,72.0,3.000");
    }

    @Test
    void targetsCountTrainingSecondsOnly() throws IOException {
        MetricsCsv m = seed1();
        assertEquals(2.0, SuiteSummary.secondsTo(m, 80), 1e-9);   // wall 4 - eval 2
        assertEquals(5.0, SuiteSummary.secondsTo(m, 70), 1e-9);   // wall 8 - eval 3
        assertTrue(Double.isNaN(SuiteSummary.secondsTo(m, 60)));
        assertEquals(1000 * 5.0 / 20, SuiteSummary.msPerStep(m), 1e-9);
    }

    @Test
    void statsFormatMeanAndRange() {
        SuiteSummary.Stat one = SuiteSummary.Stat.of(57.6);
        assertEquals("57.60", one.format(2));
        SuiteSummary.Stat two = SuiteSummary.Stat.of(69.0, Double.NaN, 75.0);
        assertEquals(2, two.n());
        assertEquals("72.00 (69.00 to 75.00)", two.format(2));
        assertEquals("-", SuiteSummary.Stat.of(Double.NaN).format(2));
    }

    @Test
    void rowAveragesSeedsAndFindsTheBestEpochOfTheMeanCurve() throws IOException {
        List<SuiteSummary.Run> runs = List.of(new SuiteSummary.Run("adam", 1, seed1(), false),
                new SuiteSummary.Run("adam", 2, seed2(), false));
        SuiteSummary.Row r = SuiteSummary.row("adam", runs, new double[] {80, 70, 60});
        assertEquals(List.of(1L, 2L), r.seeds());
        assertEquals(72.0, r.finalTest().mean(), 1e-9);
        assertEquals(69.0, r.finalTest().min(), 1e-9);
        assertEquals(75.0, r.finalTest().max(), 1e-9);
        assertEquals(69.0, r.finalTrain().mean(), 1e-9);
        assertEquals(72.0, r.bestTest(), 1e-9);
        assertEquals(2.0, r.bestEpoch(), 1e-9);
        assertEquals(2, r.secondsToTarget()[0].n());
        assertEquals((2.0 + 6.0) / 2, r.secondsToTarget()[0].mean(), 1e-9);
        assertEquals(1, r.secondsToTarget()[1].n());
        assertEquals(0, r.secondsToTarget()[2].n());
        assertEquals(17.0, r.totalSeconds(), 1e-9);

        SuiteSummary.Curve c = SuiteSummary.meanTestCurve(List.of(seed1(), seed2()), true);
        assertEquals(3, c.size());
        assertEquals(0.0, c.x()[0], 1e-9);
        assertEquals((5.0 + 6.0) / 2, c.x()[2], 1e-9);
        assertEquals(450.0, c.y()[0], 1e-9);

        String table = SuiteSummary.table(List.of(r), "NLL");
        assertTrue(table.contains("| adam | 1, 2 | 69.00 (66.00 to 72.00) | 72.00 (69.00 to 75.00) | 72.00 (2) |"), table);
        assertTrue(table.contains("| 4.0 | 5.0 (1/2 seeds) | - | 17.0 |"), table);
        assertTrue(table.contains("training s to test NLL <= 60"), table);
    }

    @Test
    void aDivergedSeedIsNamedAndLeftOutOfTheFinalNumbers() throws IOException {
        MetricsCsv bad = csv("d.csv", "0,0.0000,1.000,,500.0,501.0,1.000", "10,1.0000,2.000,nan,,,1.000");
        SuiteSummary.Row r = SuiteSummary.row("fishleg", List.of(new SuiteSummary.Run("fishleg", 1, seed1(), false),
                new SuiteSummary.Run("fishleg", 2, bad, true)), new double[] {80});
        assertEquals(1, r.finalTest().n());
        assertEquals(List.of(2L), r.diverged());
        assertTrue(SuiteSummary.table(List.of(r), "NLL").contains("| fishleg | 1, 2 (diverged: 2) | 66.00 | 69.00 | 69.00 (2) |"));
    }

    @Test
    void suitesParseByName() {
        assertEquals(BenchmarkSuite.MNIST_AE, BenchmarkSuite.parse(" MNIST-AE "));
        assertEquals(75, BenchmarkSuite.MNIST_AE.epochs);
        assertEquals(50, BenchmarkSuite.FACES_AE.epochs);
        assertTrue(BenchmarkSuite.DLN.stepsBased());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BenchmarkSuite.parse("cifar"));
        assertTrue(e.getMessage().contains("mnist-ae, curves-ae, faces-ae, dln"), e.getMessage());
    }
}
