package org.fishleg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.fishleg.optim.Optimizers;
import org.fishleg.optim.fishleg.FishLegConfig;
import org.fishleg.plot.MetricsCsv;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code fishleg bench suite} in-process on the deep linear network (seconds), and its one-line user errors. */
class SuiteCommandTest {
    @TempDir Path tmp;

    @Test
    void dlnSuiteWritesMetricsSummaryAndPlots() throws IOException {
        Path out = tmp.resolve("suite");
        MainTest.Run r = MainTest.run("bench", "suite", "--suite", "dln", "--quick", "--epochs", "60", "--optimizers", "adam,momentum",
                "--seeds", "1-2", "--backend", "cpu", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        for (String o : List.of("adam", "momentum")) {
            for (int s = 1; s <= 2; s++) {
                Path csv = out.resolve(o + "-seed" + s + ".csv");
                assertEquals("step,epoch,wall_seconds,train_loss,test_loss,train_mse,test_mse,train_set_loss,eval_seconds",
                        Files.readAllLines(csv).get(0));
                MetricsCsv m = MetricsCsv.read(csv);
                assertEquals(60.0, m.step[m.rows() - 1]);
                assertTrue(Double.isFinite(m.trainSet[m.rows() - 1]), o + s);
                assertTrue(Double.isFinite(m.evalSeconds[m.rows() - 1]), o + s);
            }
        }
        // the same initial weights for every optimizer of a seed, others for another seed
        double a1 = MetricsCsv.read(out.resolve("adam-seed1.csv")).test[0];
        assertEquals(a1, MetricsCsv.read(out.resolve("momentum-seed1.csv")).test[0]);
        assertNotEquals(a1, MetricsCsv.read(out.resolve("adam-seed2.csv")).test[0]);
        String md = Files.readString(out.resolve("summary.md"));
        assertTrue(md.contains("fishleg bench suite --suite dln --quick --optimizers adam,momentum --seeds 1,2 --batch-size 40 --epochs 60"), md);
        assertTrue(md.contains("Machine: "), md);
        assertTrue(md.contains("| optimizer | seeds | final train NLL | final test NLL |"), md);
        assertTrue(md.contains("| adam | 1, 2 | "), md);
        assertTrue(md.contains("| momentum | 1, 2 | "), md);
        assertTrue(md.contains("(test-vs-epoch.png)") && md.contains("(test-vs-seconds.png)"), md);
        for (String png : List.of("test-vs-epoch.png", "test-vs-seconds.png")) {
            BufferedImage img = ImageIO.read(out.resolve(png).toFile());
            assertNotNull(img, png);
            assertTrue(img.getWidth() > 100 && img.getHeight() > 100, png);
        }
        assertTrue(r.err().contains("[adam seed 1] step 60/60 test "), r.err());
        assertTrue(r.out().contains("| momentum | 1, 2 |"), r.out());

        // a second suite into the same folder is refused without --overwrite
        MainTest.Run again = MainTest.run("bench", "suite", "--suite", "dln", "--epochs", "5", "--out", out.toString());
        assertEquals(2, again.code());
        assertEquals(1, again.errLines().size(), again.err());
        assertTrue(again.err().contains("not empty") && again.err().contains("--overwrite"), again.err());
    }

    @Test
    void fishlegAtPresetRunsThatPreset() throws IOException {
        Path out = tmp.resolve("preset");
        MainTest.Run r = MainTest.run("bench", "suite", "--suite", "dln", "--quick", "--epochs", "20", "--optimizers",
                "fishleg,fishleg@OCAML-DLN", "--backend", "cpu", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        MetricsCsv def = MetricsCsv.read(out.resolve("fishleg-seed1.csv"));
        MetricsCsv pre = MetricsCsv.read(out.resolve("fishleg@ocaml-dln-seed1.csv"));
        assertEquals(def.test[0], pre.test[0], "the same initial weights");
        assertNotEquals(def.test[def.rows() - 1], pre.test[pre.rows() - 1], "another FishLeg configuration");
        String md = Files.readString(out.resolve("summary.md"));
        assertTrue(md.contains("--optimizers fishleg,fishleg@ocaml-dln "), md);
        assertTrue(md.contains("- `fishleg@ocaml-dln`: `fishleg " + FishLegConfig.preset("ocaml-dln") + "`\n"), md);
        assertTrue(md.contains("- `fishleg " + FishLegConfig.preset("dln") + "`\n"), md);
        assertTrue(md.contains("| fishleg@ocaml-dln | 1 | "), md);
    }

    @Test
    void lrScheduleAppliesToEveryRun() throws IOException {
        Path con = tmp.resolve("constant"), cos = tmp.resolve("cosine");
        MainTest.Run a = MainTest.run("bench", "suite", "--suite", "dln", "--quick", "--epochs", "20", "--optimizers", "adam,fishleg",
                "--backend", "cpu", "--out", con.toString());
        MainTest.Run b = MainTest.run("bench", "suite", "--suite", "dln", "--quick", "--epochs", "20", "--optimizers", "adam,fishleg",
                "--backend", "cpu", "--lr-schedule", "COSINE,start=0.5,floor=0.1", "--out", cos.toString());
        assertEquals(0, a.code(), a.err());
        assertEquals(0, b.code(), b.err());
        for (String o : List.of("adam", "fishleg")) {
            MetricsCsv c = MetricsCsv.read(con.resolve(o + "-seed1.csv")), d = MetricsCsv.read(cos.resolve(o + "-seed1.csv"));
            assertEquals(c.rows(), d.rows(), o);
            int half = 0; // the last evaluation within the first half (the schedule keeps the lr there): the same losses
            while (half + 1 < c.rows() && c.step[half + 1] <= 10) half++;
            assertTrue(half > 0, o);
            assertEquals(c.test[half], d.test[half], o + ": step " + c.step[half] + ", before the decay");
            assertNotEquals(c.test[c.rows() - 1], d.test[d.rows() - 1], o + ": the decay changes the last steps");
        }
        String md = Files.readString(cos.resolve("summary.md"));
        assertTrue(md.contains("--out " + cos + " --lr-schedule cosine,start=0.5,floor=0.1`"), md);
        assertTrue(md.contains("Optimizers (default hyper-parameters for dln; every run's lr follows --lr-schedule cosine,start=0.5,floor=0.1):"), md);
        assertFalse(Files.readString(con.resolve("summary.md")).contains("--lr-schedule"));
    }

    @Test
    void userMistakesGiveOneLineAndExitCode2() {
        Path out = tmp.resolve("o");
        error("unknown suite 'cifar'", "--suite", "cifar", "--out", out.toString());
        error("--seeds must be integers", "--suite", "dln", "--seeds", "1,x", "--out", out.toString());
        error("--seeds names seed 2 twice", "--suite", "dln", "--seeds", "1-2,2", "--out", out.toString());
        error("unknown optimizer 'nope'", "--suite", "dln", "--optimizers", "adam,nope", "--out", out.toString());
        error("only FishLeg takes a @PRESET", "--suite", "dln", "--optimizers", "adam@dln", "--out", out.toString());
        error("unknown FishLeg preset 'nope'", "--suite", "dln", "--optimizers", "fishleg@nope", "--out", out.toString());
        error("--optimizers names fishleg@dln twice", "--suite", "dln", "--optimizers", "fishleg@dln,fishleg@DLN", "--out", out.toString());
        error("--epochs must be >= 1", "--suite", "dln", "--epochs", "0", "--out", out.toString());
        error("unknown learning-rate schedule 'steep'", "--suite", "dln", "--lr-schedule", "steep", "--out", out.toString());
        // missing MNIST: the message train gives
        String none = tmp.resolve("none").toString();
        MainTest.Run train = MainTest.run("train", "--model", "mnist-ae", "--data-dir", none, "--metrics", "none");
        MainTest.Run suite = MainTest.run("bench", "suite", "--suite", "mnist-ae", "--data-dir", none, "--out", out.toString());
        assertEquals(2, train.code());
        assertEquals(2, suite.code());
        assertEquals(train.err().trim().replaceFirst("^fishleg train: ", ""),
                suite.err().trim().replaceFirst("^fishleg bench suite: ", ""));
        assertFalse(Files.exists(out), "a refused suite leaves no --out folder behind");
    }

    @Test
    void defaultOptimizersIncludeKfacOnlyWhereItExists() {
        List<String> d = SuiteCommand.defaultOptimizers();
        assertEquals(List.of("fishleg", "adam", "momentum"), d.subList(0, 3));
        assertEquals(Optimizers.names().containsKey("kfac"), d.contains("kfac"));
    }

    private void error(String expect, String... args) {
        String[] all = new String[args.length + 2];
        all[0] = "bench";
        all[1] = "suite";
        System.arraycopy(args, 0, all, 2, args.length);
        MainTest.Run r = MainTest.run(all);
        assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().contains(expect), r.err());
    }
}
