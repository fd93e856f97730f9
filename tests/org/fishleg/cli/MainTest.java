package org.fishleg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.fishleg.backend.cuda.CudaSupport;
import org.fishleg.data.Mnist;
import org.fishleg.nn.Models;
import org.fishleg.train.Checkpoint;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** The command line run in-process with captured streams: help texts, one-line errors and exit codes, real runs. */
class MainTest {

    @TempDir Path tmp;

    /** Exit code, stdout, stderr. */
    record Run(int code, String out, String err) {
        List<String> errLines() {
            List<String> l = new ArrayList<>();
            for (String s : err.split("\n")) if (!s.isBlank()) l.add(s);
            return l;
        }
    }

    static Run run(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int code;
        try (PrintStream po = new PrintStream(o, true, StandardCharsets.UTF_8); PrintStream pe = new PrintStream(e, true, StandardCharsets.UTF_8)) {
            code = Main.run(args, po, pe);
        }
        return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    static final String[] TRAIN_OPTIONS = {"--model", "--likelihood", "--data", "--data-dir", "--optimizer", "--lr", "--momentum",
        "--lr-schedule", "--momentum-form", "--nesterov", "--beta1", "--beta2", "--eps", "--weight-decay", "--batch-size", "--sampling", "--epochs", "--steps",
        "--backend", "--seed", "--weight-init", "--kfac-damping-split", "--kfac-warmup", "--metrics", "--log-every", "--eval-every-epochs", "--checkpoint-dir", "--checkpoint-every",
        "--resume", "--plot", "--quiet", "--threads", "--fishleg-preset", "--aux-lr", "--aux-batch-size", "--aux-every",
        "--aux-at-step0", "--damping", "--init-scale", "--factor", "--ordering", "--aux-direction", "--fisher",
        "--aux-weight-decay", "--decoupled-weight-decay", "--low-rank", "--precondition-aux", "--q-init", "--q-init-steps", "--max-step-norm", "--divergence-factor", "--overwrite", "--debug", "--help"};

    @Test
    void helpDocumentsEveryOptionOfEveryCommand() {
        Run top = run("--help");
        assertEquals(0, top.code);
        for (String c : new String[] {"train", "bench", "info", "fetch-mnist", "plot"}) assertTrue(top.out.contains(c), c);
        assertTrue(top.out.contains("Exit codes"), top.out);
        Run train = run("train", "--help");
        assertEquals(0, train.code);
        for (String o : TRAIN_OPTIONS) assertTrue(train.out.contains(o), "train --help lacks " + o);
        for (String v : new String[] {"mnist-ae", "gaussian-learned", "ema", "classic", "jax-mnist", "ocaml-dln", "gauss-newton",
            "momentum-on-natural-gradient", "Default: 100", "0.03", "1e-4", "bootstrap for dln", "train_mse,test_mse"})
            assertTrue(train.out.contains(v), "train --help does not mention " + v);
        // every option of every command appears in that command's help, with a description
        CommandLine cl = Main.commandLine(System.out, System.err);
        check(cl, List.of());
    }

    private void check(CommandLine cl, List<String> path) {
        List<String> args = new ArrayList<>(path);
        args.add("--help");
        Run r = run(args.toArray(new String[0]));
        assertEquals(0, r.code, String.join(" ", args));
        for (OptionSpec o : cl.getCommandSpec().options()) {
            assertTrue(r.out.contains(o.longestName()), String.join(" ", args) + " lacks " + o.longestName());
            assertTrue(o.description().length > 0 && !o.description()[0].isBlank(), o.longestName() + " has no description");
        }
        for (Map.Entry<String, CommandLine> e : cl.getSubcommands().entrySet()) {
            if (e.getKey().equals("help")) continue;
            List<String> p = new ArrayList<>(path);
            p.add(e.getKey());
            check(e.getValue(), p);
        }
    }

    /** Exit code 2, exactly one line on stderr, no stack trace. */
    private static void userError(String expectInMessage, String... args) {
        Run r = run(args);
        assertEquals(2, r.code, String.join(" ", args) + " -> " + r.err);
        List<String> lines = r.errLines();
        assertEquals(1, lines.size(), "one line on stderr for " + String.join(" ", args) + ", got:\n" + r.err);
        assertFalse(r.err.contains("Exception") || r.err.contains("\tat "), r.err);
        assertTrue(lines.get(0).toLowerCase().contains(expectInMessage.toLowerCase()), lines.get(0));
    }

    @Test
    void modelSpecOutputActivation() {
        // no activation on the output: linear, whatever the likelihood
        assertEquals("784-256-10:linear", ModelChoice.parse("784-256-10", "softmax").spec.toString());
        assertEquals("784-30:linear-784:linear", ModelChoice.parse("784-30:linear-784", null).spec.toString());
        // a Gaussian mean may be bounded on purpose (e.g. non-negative targets)
        assertEquals("20-8-20:relu", ModelChoice.parse("20-8-20:relu", "gaussian").spec.toString());
        // the named models are unchanged and accepted with every likelihood
        for (String lik : new String[] {"bernoulli", "softmax", "gaussian"})
            assertEquals(Models.get("mnist-ae").spec, ModelChoice.parse("mnist-ae", lik).spec);
    }

    @Test
    void userMistakesGiveOneLineAndExitCode2() throws IOException {
        userError("unknown model 'nope'", "train", "--model", "nope");
        userError("bad model spec", "train", "--model", "784-abc-10");
        // a non-linear output before a likelihood that takes logits: one line naming the fix
        userError("output layer's relu feeds the softmax likelihood, which takes logits (any real number); "
                + "make the output linear: --model 784-256-10:linear", "train", "--model", "784-256-10:relu", "--likelihood", "softmax");
        userError("make the output linear: --model 784-30-784:linear", "train", "--model", "784-30-784:sigmoid");
        userError("make the output linear: --model 20-8-20:linear", "bench", "steps", "--model", "20-8-20:tanh");
        userError("not found", "train", "--model", "mnist-ae", "--optimizer", "adam", "--data-dir", tmp.resolve("none").toString(),
                "--metrics", "none");
        userError("'abc' is not a float", "train", "--lr", "abc");
        userError("--lr must be a positive number", "train", "--lr", "-1");
        userError("--momentum must be in [0, 1)", "train", "--momentum", "1.5");
        userError("--batch-size must be >= 1", "train", "--batch-size", "0");
        userError("unknown option", "train", "--no-such-option");
        userError("unknown optimizer 'lbfgs'", "train", "--optimizer", "lbfgs");
        userError("mutually exclusive", "train", "--epochs", "2", "--steps", "5");
        userError("unknown backend 'gpu'", "train", "--backend", "gpu");
        userError("unknown likelihood", "train", "--model", "784-30-784", "--likelihood", "poisson");
        userError("unknown data set", "train", "--data", "cifar");
        userError("--factor must be full or triangular", "train", "--factor", "diagonal");
        userError("unknown fishleg preset", "train", "--fishleg-preset", "pytorch");
        userError("--data is required", "train", "--model", "50-10-5");
        userError("cannot write metrics file", "train", "--metrics", "/proc/fishleg-nope/m.csv");
        Path dir = Files.createDirectories(tmp.resolve("adir"));
        userError("is a directory", "train", "--metrics", dir.toString());
        // a checkpoint of another model
        Checkpoint c = new Checkpoint();
        c.modelSpec = "12-6-12:linear";
        c.likelihood = "bernoulli";
        c.optimizerName = "adam";
        c.dataName = "x";
        c.batchSize = 100;
        c.params = new float[13 * 6 + 7 * 12];
        c.batchStream = new long[] {1, 0, 0, 1000};
        c.auxStream = new long[] {1, 0, 0, 1000};
        Path ck = tmp.resolve("other.ckpt");
        c.write(ck);
        userError("is for model 12-6-12:linear", "train", "--resume", ck.toString(), "--metrics", "none");
        Files.writeString(tmp.resolve("junk.ckpt"), "hello");
        userError("is damaged or not a checkpoint", "train", "--resume", tmp.resolve("junk.ckpt").toString(), "--metrics", "none");
        userError("metrics file not found", "plot", tmp.resolve("missing.csv").toString(), "-o", tmp.resolve("p.png").toString());
        userError("unknown optimizer", "bench", "steps", "--optimizers", "nope");
        userError("missing command");
        userError("unknown model", "bench", "steps", "--model", "resnet");
        userError("--seconds must be >= 1", "bench", "gemm", "--seconds", "0");
        if (!CudaSupport.probe().usable) {
            userError("CUDA is not usable here", "train", "--backend", "cuda");
            userError("CUDA is not usable here", "bench", "steps", "--backend", "cuda");
        }
        userError("--keep-checkpoints needs --checkpoint-dir", "train", "--keep-checkpoints");
        userError("--graphs must be on or off", "train", "--graphs", "sometimes");
        userError("--sampling must be shuffle, bootstrap or full", "train", "--sampling", "replace");
        userError("unknown learning-rate schedule 'step' (expected constant, linear or cosine", "train", "--lr-schedule", "step");
        userError("learning-rate schedule start must be in [0, 1), got 2.0", "train", "--lr-schedule", "linear,start=2");
        userError("--sampling full trains on all 40 training examples", "train", "--model", "dln", "--sampling", "full",
                "--batch-size", "20", "--metrics", "none", "--backend", "cpu");
        userError("--graphs must be both, on or off", "bench", "steps", "--graphs", "sometimes");
        // options that the chosen optimizer would silently ignore
        userError("--checkpoint-every needs --checkpoint-dir", "train", "--checkpoint-every", "10");
        userError("--aux-lr applies to FishLeg only", "train", "--optimizer", "adam", "--aux-lr", "1e-3");
        userError("--damping applies to FishLeg only", "train", "--optimizer", "momentum", "--damping", "1e-3");
        userError("--fishleg-preset applies to FishLeg only", "train", "--optimizer", "sgd", "--fishleg-preset", "jax-mnist");
        userError("--beta1 applies to adam and adamw only", "train", "--optimizer", "momentum", "--beta1", "0.8");
        userError("--eps applies to adam and adamw only", "train", "--optimizer", "fishleg", "--eps", "1e-8");
        userError("--nesterov applies to momentum only", "train", "--optimizer", "adam", "--nesterov");
        userError("--momentum-form applies to momentum only", "train", "--optimizer", "fishleg", "--momentum-form", "classic");
        userError("--momentum applies to momentum, FishLeg (its beta) and KFAC only", "train", "--optimizer", "adam", "--momentum", "0.5");
        userError("--kfac-damping applies to kfac only", "train", "--optimizer", "fishleg", "--kfac-damping", "3");
        userError("KFAC damping must be > 0", "train", "--optimizer", "kfac", "--kfac-damping", "0");
        userError("KFAC damping split must be none or pi, got 'half'", "train", "--optimizer", "kfac", "--kfac-damping-split", "half");
        userError("--kfac-damping-split applies to kfac only", "train", "--optimizer", "adam", "--kfac-damping-split", "pi");
        userError("--kfac-warmup must be on or off, got 'yes'", "train", "--optimizer", "kfac", "--kfac-warmup", "yes");
        userError("--kfac-warmup applies to kfac only", "train", "--optimizer", "fishleg", "--kfac-warmup", "off");
        userError("--precondition-aux must be on or off, got 'true'", "train", "--optimizer", "fishleg", "--precondition-aux", "true");
        userError("--precondition-aux applies to FishLeg only", "train", "--optimizer", "kfac", "--precondition-aux", "on");
        userError("--divergence-factor must be a finite number >= 0 (0: off), got -1.0", "train", "--divergence-factor", "-1");
        userError("--max-step-norm applies to FishLeg only", "train", "--optimizer", "adam", "--max-step-norm", "1");
        userError("--q-init must be identity or kfac, got 'eye'", "train", "--optimizer", "fishleg", "--q-init", "eye");
        userError("--q-init kfac needs full factors", "train", "--optimizer", "fishleg", "--fishleg-preset", "ocaml-mnist", "--damping", "0.1", "--q-init", "kfac");
        userError("--q-init applies to FishLeg only", "train", "--optimizer", "adam", "--q-init", "kfac");
        userError("--q-init-steps 5 needs --q-init kfac", "train", "--optimizer", "fishleg", "--q-init-steps", "5");
        userError("--q-init-steps must be >= 1, got 0", "train", "--optimizer", "fishleg", "--q-init", "kfac", "--damping", "1", "--q-init-steps", "0");
        userError("--q-init-steps applies to FishLeg only", "train", "--optimizer", "kfac", "--q-init-steps", "5");
        userError("--weight-init must be normal or uniform, got 'xavier'", "train", "--weight-init", "xavier");
        userError("--weight-init must be normal or uniform, got 'xavier'", "bench", "suite", "--suite", "dln", "--weight-init", "xavier");
        userError("KFAC curvature must be sampled or empirical", "train", "--optimizer", "kfac", "--kfac-curvature", "exact");
        // a layer or a model too large for one float tensor is a spec error, not an int overflow
        userError("has 2355000000 parameters", "train", "--model", "784-3000000", "--data", "mnist");
        userError("at most 2147483639", "train", "--model", "784-2000000-784", "--data", "mnist");
    }

    /** A new run never replaces an earlier run's metrics or checkpoint unless told to (--overwrite), and says how to go on. */
    @Test
    void aNewRunRefusesToReplaceAnEarlierRun() throws IOException {
        Path csv = tmp.resolve("old.csv"), ck = Files.createDirectories(tmp.resolve("old-ck"));
        Files.writeString(csv, "step,epoch,wall_seconds,train_loss,test_loss\n0,0.0000,0.1,,1.0\n");
        Files.writeString(ck.resolve(Checkpoint.LATEST), "an earlier run's checkpoint");
        userError("metrics file " + csv + " already exists", "train", "--model", "dln", "--steps", "2", "--backend", "cpu",
                "--metrics", csv.toString());
        assertEquals(2, Files.readAllLines(csv).size(), "the refused run left the metrics alone");
        userError("already holds checkpoint.ckpt", "train", "--model", "dln", "--steps", "2", "--backend", "cpu",
                "--metrics", "none", "--checkpoint-dir", ck.toString());
        assertEquals("an earlier run's checkpoint", Files.readString(ck.resolve(Checkpoint.LATEST)));
        Run r = run("train", "--model", "dln", "--steps", "2", "--backend", "cpu", "--metrics", csv.toString(),
                "--checkpoint-dir", ck.toString(), "--overwrite", "--progress", "none");
        assertEquals(0, r.code, r.err);
        assertTrue(Files.readAllLines(csv).get(0).startsWith("step,epoch"));
        assertEquals(2, Checkpoint.read(ck.resolve(Checkpoint.LATEST)).step);
    }

    /** --kfac-warmup switches the recipe's warm-up (dln: off) and shows in the optimizer line. */
    @Test
    void kfacWarmupOptionReachesTheOptimizer() {
        Run off = run("train", "--model", "dln", "--optimizer", "kfac", "--steps", "2", "--backend", "cpu", "--metrics", "none");
        assertEquals(0, off.code, off.err);
        assertTrue((off.out + off.err).contains("warmup=off"), off.out + off.err);
        Run on = run("train", "--model", "dln", "--optimizer", "kfac", "--kfac-warmup", "on", "--steps", "2", "--backend", "cpu",
                "--metrics", "none");
        assertEquals(0, on.code, on.err);
        assertTrue((on.out + on.err).contains("warmup=on"), on.out + on.err);
    }

    /** --precondition-aux and --q-init reach FishLeg's configuration and show in the optimizer line (defaults: not shown). */
    @Test
    void preconditionAuxOptionReachesFishLeg() {
        Run off = run("train", "--model", "dln", "--optimizer", "fishleg", "--steps", "2", "--backend", "cpu", "--metrics", "none");
        assertEquals(0, off.code, off.err);
        assertFalse((off.out + off.err).contains("precondition_aux"), off.out + off.err);
        Run on = run("train", "--model", "dln", "--optimizer", "fishleg", "--precondition-aux", "on", "--steps", "2", "--backend", "cpu",
                "--metrics", "none");
        assertEquals(0, on.code, on.err);
        assertTrue((on.out + on.err).contains("precondition_aux=true"), on.out + on.err);
        Run kf = run("train", "--model", "dln", "--optimizer", "fishleg", "--q-init", "kfac", "--fishleg-preset", "mnist-ae", "--steps", "3",
                "--backend", "cpu", "--metrics", "none");
        assertEquals(0, kf.code, kf.err);
        assertTrue((kf.out + kf.err).contains("q_init=kfac"), kf.out + kf.err);
    }

    /** A metrics file that cannot be written for lack of space is one line and exit 2, not an internal error. */
    @Test
    void aFullDiskForTheMetricsIsAUserError() {
        if (!Files.isWritable(Path.of("/dev/full"))) return; // not Linux
        userError("cannot write metrics file /dev/full: No space left on device", "train", "--model", "dln", "--steps", "2",
                "--backend", "cpu", "--metrics", "/dev/full", "--overwrite", "--progress", "none");
    }

    @Test
    void labelsOutsideTheTenDigitClassesAreADataError() {
        org.fishleg.data.Dataset ok = org.fishleg.data.Dataset.autoencoder("t", new float[] {0.1f, 0.2f, 0.3f, 0.4f}, 2, 2, new int[] {3, 9});
        org.fishleg.data.Dataset y = DataSources.oneHot(ok);
        assertEquals(10, y.k());
        org.fishleg.data.Dataset bad = org.fishleg.data.Dataset.autoencoder("t", new float[] {0.1f, 0.2f, 0.3f, 0.4f}, 2, 2, new int[] {3, 200});
        org.fishleg.data.DataException e = org.junit.jupiter.api.Assertions.assertThrows(org.fishleg.data.DataException.class,
                () -> DataSources.oneHot(bad));
        assertTrue(e.getMessage().contains("label 200 of example 1"), e.getMessage());
        assertEquals(2, Main.exitCodeFor(e));
    }

    @Test
    void anInvalidBackendSettingIsAUsageErrorNamingTheVariable() {
        org.fishleg.backend.BackendException e = org.junit.jupiter.api.Assertions.assertThrows(org.fishleg.backend.BackendException.class,
                () -> org.fishleg.backend.BackendOptions.from(Map.of("FISHLEG_CUDA_DEVICE", "first"), Map.of()));
        assertEquals(2, Main.exitCodeFor(e));
        assertTrue(Main.messageFor(e).startsWith("invalid backend option FISHLEG_CUDA_DEVICE=first"), Main.messageFor(e));
    }

    @Test
    void memoryErrorsAreOneLineWithAWayOut() {
        String heap = Main.messageFor(new OutOfMemoryError("Java heap space"));
        assertTrue(heap.contains("-Xmx") && heap.contains("--batch-size") && heap.contains("heap limit"), heap);
        org.fishleg.backend.BackendException nat = new org.fishleg.backend.BackendException("cpu: out of native memory allocating 8000000000 bytes");
        assertEquals(2, Main.exitCodeFor(nat));
        assertTrue(Main.messageFor(nat).contains("8000000000 bytes") && Main.messageFor(nat).contains("--batch-size"), Main.messageFor(nat));
    }

    @Test
    void infoPrintsJavaCpuAndTheCudaProbe() {
        Run r = run("info");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("java: "), r.out);
        assertTrue(r.out.contains("cpu backend: "), r.out);
        assertTrue(r.out.contains("cuda backend: "), r.out);
        assertTrue(r.out.contains("backend for --backend auto: "), r.out);
    }

    @Test
    void plotDrawsSeveralRuns() throws IOException {
        Path a = tmp.resolve("run-a.csv"), b = tmp.resolve("run-b.csv");
        StringBuilder sa = new StringBuilder("step,epoch,wall_seconds,train_loss,test_loss\n0,0,0,,500\n");
        StringBuilder sb = new StringBuilder(sa);
        for (int s = 10; s <= 300; s += 10) {
            sa.append(s).append(",").append(s / 100.0).append(",").append(s * 0.1).append(",").append(500 * Math.exp(-s / 80.0) + 60)
                    .append(",").append(s % 100 == 0 ? String.valueOf(500 * Math.exp(-s / 80.0) + 65) : "").append("\n");
            sb.append(s).append(",").append(s / 100.0).append(",").append(s * 0.2).append(",").append(500 * Math.exp(-s / 40.0) + 55)
                    .append(",").append(s % 100 == 0 ? String.valueOf(500 * Math.exp(-s / 40.0) + 62) : "").append("\n");
        }
        Files.writeString(a, sa);
        Files.writeString(b, sb);
        Path png = tmp.resolve("out/loss.png");
        Run r = run("plot", a.toString(), b.toString(), "-o", png.toString(), "--log-y", "--x", "wall", "--width", "800", "--height", "500");
        assertEquals(0, r.code, r.err);
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(800, img.getWidth());
        assertEquals(500, img.getHeight());
        int blue = 0, red = 0;
        for (int y = 0; y < img.getHeight(); y++)
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xFFFFFF;
                if (rgb == 0x1f77b4) blue++;
                if (rgb == 0xd62728) red++;
            }
        assertTrue(blue > 200 && red > 200, "both runs are drawn in their colours: " + blue + " / " + red + " pixels");
        userError("--x", "plot", a.toString(), "--x", "banana", "-o", png.toString());
        userError("has no train_mse/test_mse columns", "plot", a.toString(), "--metric", "mse", "-o", png.toString());
        userError("--metric must be nll or mse, got 'r2'", "plot", a.toString(), "--metric", "r2", "-o", png.toString());
        // a Gaussian run's squared errors: drawn on their own scale (the NLL column is far away and must not be used)
        Path g = tmp.resolve("dln.csv");
        StringBuilder sg = new StringBuilder("step,epoch,wall_seconds,train_loss,test_loss,train_mse,test_mse\n");
        for (int s = 0; s <= 200; s += 10)
            sg.append(s).append(",").append(s / 5.0).append(",").append(s * 0.01).append(",").append(-50 - s * 0.1).append(",")
                    .append(-45 - s * 0.1).append(",").append(Math.exp(-s / 50.0)).append(",").append(1.2 * Math.exp(-s / 50.0)).append("\n");
        Files.writeString(g, sg);
        Path pm = tmp.resolve("mse.png");
        r = run("plot", g.toString(), "--metric", "mse", "--log-y", "-o", pm.toString());
        assertEquals(0, r.code, r.err);
        BufferedImage im = ImageIO.read(pm.toFile());
        int drawn = 0;
        for (int y = 0; y < im.getHeight(); y++)
            for (int x = 0; x < im.getWidth(); x++) if ((im.getRGB(x, y) & 0xFFFFFF) == 0x1f77b4) drawn++;
        assertTrue(drawn > 200, "the MSE curves are drawn (log scale: the NLL column is negative and could not be): " + drawn);
    }

    @Test
    void progressBarFormat() {
        String s = ProgressBar.render(1234, 0, 6000, 600, 81.234, Double.NaN, 100.0);
        assertTrue(s.matches("epoch 3/10 \\[====>\\s{19}\\] step 1234/6000 loss 81\\.23 12\\.3 steps/s ETA 6:26"), s);
        assertEquals("1:02", ProgressBar.clock(62));
        assertEquals("1:00:05", ProgressBar.clock(3605));
    }

    @Test
    void benchStepsPrintsATable() {
        Run r = run("bench", "steps", "--backend", "cpu", "--model", "20-8-20", "--batch-sizes", "4,8", "--optimizers", "momentum,fishleg",
                "--seconds", "0.05", "--warmup-steps", "1", "--block-steps", "2");
        assertEquals(0, r.code, r.err);
        List<String> rows = new ArrayList<>();
        for (String l : r.out.split("\n")) if (l.startsWith("cpu ")) rows.add(l);
        assertEquals(4, rows.size(), r.out);
        assertTrue(r.out.contains("ms/step") && r.out.contains("GFLOP/step") && r.out.contains("s/epoch"), r.out);
        assertTrue(r.out.contains("backend GEMM rate on this model's layer shapes at batch 4"), r.out);
        assertTrue(r.out.matches("(?s).*targets at batch 8, fishleg \\(eager\\): time ratio to momentum \\d+\\.\\d\\d, FLOP ratio \\d+\\.\\d\\d, "
                + "time/FLOP ratio \\d+\\.\\d\\d \\(target <= 1\\.10: (NOT )?met\\); \\d+% of the GEMM rate \\(target >= 50%: (NOT )?met\\).*"), r.out);
        assertTrue(rows.get(0).contains("momentum") && rows.get(0).contains(" eager ") && rows.get(0).matches(".*\\d+\\.\\d{3}\\s+\\d+\\.\\d+\\s+\\d+\\.\\d+\\s*$"), rows.get(0));
    }

    static Path mnist() {
        String env = System.getenv(Mnist.ENV_DATA);
        Path dir = env != null && !env.isBlank() ? Path.of(env, "mnist") : Path.of("data", "mnist");
        Assumptions.assumeTrue(Mnist.FILES.stream().allMatch(f -> Files.isRegularFile(dir.resolve(f))),
                "MNIST not found in " + dir.toAbsolutePath() + " (run ./fishleg fetch-mnist); skipping");
        return dir;
    }

    @Test
    void trainsCheckpointsResumesAndPlotsOnMnist() throws IOException {
        Path dir = mnist();
        Path csv = tmp.resolve("m.csv"), png = tmp.resolve("m.png"), ck = tmp.resolve("ck");
        Run r = run("train", "--model", "784-16:linear-784:linear", "--optimizer", "momentum", "--steps", "30", "--batch-size", "50",
                "--backend", "cpu", "--data-dir", dir.toString(), "--metrics", csv.toString(), "--plot", png.toString(),
                "--checkpoint-dir", ck.toString(), "--progress", "lines", "--print-every", "10");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("backend: cpu"), r.out);
        assertTrue(r.out.contains("done: 30 steps"), r.out);
        assertTrue(r.out.contains("batch 50, sampling shuffle"), r.out);
        assertTrue(r.err.contains("step 10/30"), r.err);
        assertTrue(Files.size(png) > 1000);
        List<String> lines = Files.readAllLines(csv);
        assertEquals("step,epoch,wall_seconds,train_loss,test_loss", lines.get(0));
        assertTrue(lines.get(lines.size() - 1).startsWith("30,"));
        // resume to 40 steps, continuing the same metrics file
        r = run("train", "--model", "784-16:linear-784:linear", "--optimizer", "momentum", "--steps", "40", "--batch-size", "50",
                "--backend", "cpu", "--data-dir", dir.toString(), "--metrics", csv.toString(), "--quiet",
                "--resume", ck.resolve(Checkpoint.LATEST).toString());
        assertEquals(0, r.code, r.err);
        assertEquals("", r.out);
        lines = Files.readAllLines(csv);
        assertTrue(lines.get(lines.size() - 1).startsWith("40,"), lines.get(lines.size() - 1));
        // a resume with another optimizer is refused
        userError("was written by optimizer momentum", "train", "--model", "784-16:linear-784:linear", "--optimizer", "adam",
                "--batch-size", "50", "--metrics", "none", "--resume", ck.resolve(Checkpoint.LATEST).toString());
    }

    /**
     * {@code --model dln} draws bootstrap batches unless told otherwise; the checkpoint records it, a resume with
     * another sampling is refused, and the Gaussian metrics carry train_mse and test_mse.
     */
    @Test
    void dlnDefaultsToBootstrapSampling() throws IOException {
        Path csv = tmp.resolve("dln.csv"), ck = tmp.resolve("dln-ck");
        Run r = run("train", "--model", "dln", "--steps", "3", "--backend", "cpu", "--metrics", csv.toString(),
                "--checkpoint-dir", ck.toString(), "--progress", "none");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("batch 40, sampling bootstrap"), r.out);
        assertTrue(r.out.contains("train mse "), r.out);
        assertEquals("bootstrap", Checkpoint.read(ck.resolve(Checkpoint.LATEST)).sampling);
        List<String> lines = Files.readAllLines(csv);
        assertEquals("step,epoch,wall_seconds,train_loss,test_loss,train_mse,test_mse", lines.get(0));
        userError("was written with --sampling bootstrap, not shuffle", "train", "--model", "dln", "--steps", "5",
                "--sampling", "shuffle", "--metrics", "none", "--resume", ck.resolve(Checkpoint.LATEST).toString());
        r = run("train", "--model", "dln", "--steps", "5", "--backend", "cpu", "--metrics", csv.toString(), "--quiet",
                "--resume", ck.resolve(Checkpoint.LATEST).toString());
        assertEquals(0, r.code, r.err);
        assertTrue(Files.readAllLines(csv).get(Files.readAllLines(csv).size() - 1).startsWith("5,"));
        r = run("train", "--model", "dln", "--steps", "2", "--sampling", "full", "--backend", "cpu", "--metrics", "none",
                "--progress", "none");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("batch 40, sampling full") && r.out.contains("aux_batch=40"), r.out);
        r = run("train", "--model", "dln", "--steps", "4", "--lr-schedule", "cosine,floor=0.1", "--backend", "cpu", "--metrics", "none",
                "--progress", "none");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("sampling bootstrap, seed 1, lr schedule cosine,start=0.0,floor=0.1"), r.out);
    }

    @Test
    void divergedRunExitsWith1() {
        Path dir = mnist();
        // the loss blows up through finite values: the divergence limit stops it there, or (check off) a non-finite loss
        for (String factor : new String[] {"100", "0"}) {
            Run r = run("train", "--model", "784-16:linear-784:linear", "--likelihood", "gaussian", "--optimizer", "sgd", "--lr", "1e3",
                    "--steps", "300", "--log-every", "1", "--backend", "cpu", "--data-dir", dir.toString(), "--metrics", "none",
                    "--progress", "none", "--divergence-factor", factor);
            assertEquals(1, r.code, r.out + r.err);
            assertTrue(r.err.contains(factor.equals("0") ? "loss became" : "above the divergence limit"), r.err);
            assertEquals(1, r.errLines().size(), r.err);
        }
    }
}
