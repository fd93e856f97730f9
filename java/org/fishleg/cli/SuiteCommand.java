package org.fishleg.cli;

import org.fishleg.nn.WeightInit;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Backends;
import org.fishleg.bench.BenchmarkSuite;
import org.fishleg.bench.SuiteSummary;
import org.fishleg.data.Dataset;
import org.fishleg.data.Splits;
import org.fishleg.optim.Optimizers;
import org.fishleg.plot.MetricsCsv;
import org.fishleg.plot.SuiteChart;
import org.fishleg.train.DeviceDataset;
import org.fishleg.train.LrSchedule;
import org.fishleg.train.Sampling;
import org.fishleg.train.TrainResult;
import org.fishleg.train.TrainerConfig;
import org.fishleg.train.TrainingProgress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fishleg bench suite}: a benchmark suite end to end, every optimizer on every seed, a summary table and plots. */
@Command(name = "suite", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, usageHelpWidth = 110, sortOptions = false,
        description = {"Run a benchmark suite end to end: for the suite's model, every optimizer for every seed with its published "
                + "default hyper-parameters (those of 'fishleg train'; FishLeg with the model's default preset), the same initial "
                + "weights and the same batch order for all optimizers of a seed. Each run is a 'fishleg train' run with "
                + "--eval-train-set (the full training-set NLL at each evaluation) and writes DIR/<optimizer>-seed<S>.csv "
                + "(step,epoch,wall_seconds,train_loss,test_loss,...,train_set_loss,eval_seconds).",
                "",
                "At the end: DIR/summary.md (machine, backend, command, each optimizer's settings; a table of final train and test "
                + "NLL, mean over seeds with min to max, the best test NLL and its epoch, training ms/step (evaluations excluded), "
                + "training seconds until the test NLL first reaches each of the suite's targets ('-': never), run time) and two "
                + "plots, DIR/test-vs-epoch.png and DIR/test-vs-seconds.png (test NLL, mean over seeds, against epochs and "
                + "against training seconds; log scale when the losses span a wide range).",
                "",
                "Suites: mnist-ae (75 epochs, targets 80/70/60/57), curves-ae (100 epochs, targets 120/100/80), faces-ae (50 epochs, "
                + "targets 620/600/590), all at batch 1000; dln (the deep linear network with the 'train --model dln' defaults: "
                + "bootstrap batches of 40, one step per epoch, 20000 steps evaluated every 10; targets 0/-25/-50).",
                "",
                "--quick: a smoke run of a few minutes on a 2-core CPU: an evenly spaced subset of 10,000 training and 10,000 "
                + "test examples, 10 epochs (faces-ae 5; dln 2000 steps on its own data), the seeds given (default 1).",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {"  ./fishleg bench suite --suite mnist-ae --quick",
                "  ./fishleg bench suite --suite mnist-ae --seeds 1,2,3 --out runs/mnist-suite",
                "  ./fishleg bench suite --suite dln --optimizers fishleg,adam --seeds 1-4"})
final class SuiteCommand implements Callable<Integer>, Main.Streams {
    private PrintStream out = System.out, err = System.err;

    @Override
    public void streams(PrintStream o, PrintStream e) { out = o; err = e; }

    @Option(names = "--suite", paramLabel = "NAME", required = true,
            description = "mnist-ae | curves-ae | faces-ae | dln.")
    String suite;

    @Option(names = "--optimizers", paramLabel = "NAME,...", split = ",",
            description = "Optimizers to compare, each with its default hyper-parameters for the model; fishleg@PRESET runs "
                    + "FishLeg with that --fishleg-preset instead of the model's (e.g. fishleg@mnist-ae-kfac-start). Default: "
                    + "fishleg,adam,momentum,kfac.")
    List<String> optimizers;

    @Option(names = "--seeds", paramLabel = "S,...", defaultValue = "1",
            description = "Seeds (weights, batch order, FishLeg's auxiliary batches): a list and/or ranges, e.g. 1,2,5-8. "
                    + "Default: ${DEFAULT-VALUE}.")
    String seeds;

    @Option(names = "--weight-init", paramLabel = "normal|uniform", defaultValue = "normal",
            description = "Initial weights: normal (W ~ N(0, 1/n_in), biases 0) | uniform (W and biases ~ U(+-1/sqrt(n_in)), "
                    + "as in the KFAC/K-BFGS benchmark code). Default: ${DEFAULT-VALUE}.")
    String weightInit;

    @Option(names = "--batch-size", paramLabel = "B",
            description = "Mini-batch size. Default: 1000 (the KFAC / K-BFGS benchmark's); dln: 40.")
    Integer batchSize;

    @Option(names = "--epochs", paramLabel = "N",
            description = "Epochs per run. Default: mnist-ae 75, curves-ae 100, faces-ae 50, dln 20000 (one step each); "
                    + "with --quick 10, 10, 5, 2000.")
    Integer epochs;

    @Option(names = "--lr-schedule", paramLabel = "SCHEDULE",
            description = "The same learning-rate schedule for every run, as for train: constant | linear | cosine, "
                    + "optionally ,start=F,floor=M (e.g. cosine,start=0.25,floor=0.1: the lr kept for the first quarter of the "
                    + "run, then cosine-decayed towards a tenth of it). Default: constant.")
    String lrSchedule;

    @Option(names = "--eval-every-epochs", paramLabel = "N",
            description = "Evaluate the test and training sets every N epochs (and at the start and the end). Default: 1 (dln: 10).")
    Integer evalEveryEpochs;

    @Option(names = "--quick", description = "Smoke run: 10,000 training and 10,000 test examples (evenly spaced), 10 epochs "
            + "(faces-ae 5, dln 2000 steps).")
    boolean quick;

    @Option(names = "--train-size", paramLabel = "N", description = "Train on an evenly spaced subset of N training examples "
            + "(--quick: 10000). Default: all.")
    Integer trainSize;

    @Option(names = "--test-size", paramLabel = "N", description = "Evaluate on an evenly spaced subset of N test examples "
            + "(--quick: 10000). Default: all.")
    Integer testSize;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder. Default: runs/bench-suite/SUITE.")
    Path outDir;

    @Option(names = "--overwrite", description = "Write into a --out folder that is not empty (files of the same names are replaced). "
            + "Without it such a folder is refused.")
    boolean overwrite;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "As for train: the MNIST folder or the Olivetti file / folder.")
    Path dataDir;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "auto",
            description = "auto | cpu | cuda (FISHLEG_BACKEND overrides auto). Default: ${DEFAULT-VALUE}.")
    String backend;

    @Option(names = "--threads", paramLabel = "N", description = "CPU backend threads. Default: all processors.")
    Integer threads;

    @Option(names = "--eval-batch-size", paramLabel = "B", defaultValue = "1000",
            description = "Batch size of the evaluations. Default: ${DEFAULT-VALUE}.")
    int evalBatchSize;

    @Override
    public Integer call() {
        BenchmarkSuite s;
        try {
            s = BenchmarkSuite.parse(suite);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
        ModelChoice mc = ModelChoice.parse(s.model, null);
        List<String> opts = optimizerList();
        List<Long> seedList = parseSeeds(seeds);
        WeightInit init;
        try {
            init = WeightInit.parse(weightInit);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
        int batch = batchSize != null ? batchSize : s.stepsBased() ? TrainingRun.defaultBatchSize(mc) : 1000;
        if (batch < 1) throw new UserException("--batch-size must be >= 1, got " + batch);
        int nEpochs = epochs != null ? epochs : quick ? s.quickEpochs : s.epochs;
        if (nEpochs < 1) throw new UserException("--epochs must be >= 1, got " + nEpochs);
        LrSchedule schedule;
        try {
            schedule = lrSchedule != null ? LrSchedule.parse(lrSchedule) : LrSchedule.CONSTANT;
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
        int evalEvery = evalEveryEpochs != null ? evalEveryEpochs : s.evalEveryEpochs;
        if (evalEvery < 1) throw new UserException("--eval-every-epochs must be >= 1, got " + evalEvery);
        if (evalBatchSize < 1) throw new UserException("--eval-batch-size must be >= 1, got " + evalBatchSize);
        Integer nTrain = trainSize != null ? trainSize : quick && !s.stepsBased() ? (Integer) BenchmarkSuite.QUICK_TRAIN : null;
        Integer nTest = testSize != null ? testSize : quick && !s.stepsBased() ? (Integer) BenchmarkSuite.QUICK_TEST : null;
        if (nTrain != null && nTrain < 1) throw new UserException("--train-size must be >= 1, got " + nTrain);
        if (nTest != null && nTest < 1) throw new UserException("--test-size must be >= 1, got " + nTest);
        if (threads != null && threads < 1) throw new UserException("--threads must be >= 1, got " + threads);
        Path dir = outDir != null ? outDir : Path.of("runs", "bench-suite", s.cliName);
        checkOutDir(dir);
        String dataName = TrainingRun.dataName(mc, null);
        String backendChoice = TrainingRun.backendChoice(backend);
        TrainingRun.checkUsable(backendChoice);
        Sampling samp = TrainingRun.defaultSampling(mc);
        // the options every run shares with 'fishleg train' beyond the suite's defaults
        String runFlags = (init == WeightInit.NORMAL ? "" : " --weight-init " + init.cliName())
                + (schedule.isConstant() ? "" : " --lr-schedule " + schedule);
        String command = command(s, opts, seedList, batch, nEpochs, evalEvery, nTrain, nTest, dir) + runFlags;

        // ---- data (the same message as train when it is missing)
        Splits splits = DataSources.load(dataName, dataDir, 1);
        Dataset trainData = subset(splits.train(), nTrain, "--train-size");
        Dataset testData = subset(splits.test(), nTest, "--test-size");
        splits = null;
        if (batch > trainData.n())
            throw new UserException("--batch-size " + batch + " exceeds the " + trainData.n() + " training examples");
        createOutDir(dir);
        err.println("suite " + s.cliName + ": " + opts.size() + " optimizer(s) x " + seedList.size() + " seed(s), data " + dataName
                + " train " + trainData.n() + ", test " + testData.n() + ", batch " + batch + ", " + nEpochs + " epochs; out " + dir);
        err.flush();
        if (threads != null) System.setProperty("fishleg.cpu.threads", Integer.toString(threads));

        long t0 = System.nanoTime();
        Map<String, List<SuiteSummary.Run>> runs = new LinkedHashMap<>();
        Map<String, String> described = new LinkedHashMap<>();
        String backendLine;
        try (Backend be = Backends.open(backendChoice, line -> { });
             DeviceDataset train = DeviceDataset.upload(be, trainData);
             DeviceDataset test = DeviceDataset.upload(be, testData);
             TrainingRun.StopHook hook = new TrainingRun.StopHook()) {
            backendLine = be.name() + " (" + be.description() + ")";
            for (long seed : seedList) {
                for (String opt : opts) {
                    Path csv = dir.resolve(opt + "-seed" + seed + ".csv");
                    TrainerConfig cfg = TrainerConfig.builder().batchSize(batch).seed(seed).epochs(nEpochs).logEvery(10)
                            .evalEveryEpochs(evalEvery).evalBatchSize(evalBatchSize).metrics(csv).sampling(samp)
                            .evalTrainSet(true).lrSchedule(schedule).build();
                    String label = "[" + opt + " seed " + seed + "]";
                    TrainingProgress prog = new EpochLines(err, label, s.stepsBased() ? "step" : "epoch", nEpochs);
                    Optimizers.Options oo = new Optimizers.Options().modelName(mc.name).batchSize(batch);
                    String base = TrainingRun.applyPreset(opt, oo); // fishleg@PRESET: that preset instead of the model's
                    TrainResult r = TrainingRun.with(be, train, test, mc, seed, init, cfg, prog, base, oo, (trainer, o) -> {
                        described.putIfAbsent(opt, o.describe());
                        hook.watch(trainer);
                        try {
                            return trainer.run(o);
                        } finally {
                            hook.watch(null);
                        }
                    });
                    if (r.interrupted || hook.requested()) {
                        err.println("fishleg bench suite: interrupted during " + opt + " seed " + seed + "; the finished runs' "
                                + "metrics are in " + dir + " (no summary)");
                        err.flush();
                        return Main.EXIT_INTERRUPTED;
                    }
                    if (r.diverged) err.println(label + " diverged: " + r.message);
                    err.println(String.format(Locale.ROOT, "%s done: %d steps, test %s, %.1f ms/step, %.1f s", label, r.steps,
                            fmt(r.lastTestLoss), r.msPerStep(), r.sessionSeconds));
                    err.flush();
                    runs.computeIfAbsent(opt, k -> new ArrayList<>()).add(new SuiteSummary.Run(opt, seed, MetricsCsv.read(csv), r.diverged));
                }
            }
        }
        double total = (System.nanoTime() - t0) / 1e9;

        // ---- summary and plots
        List<SuiteSummary.Row> rows = new ArrayList<>();
        for (Map.Entry<String, List<SuiteSummary.Run>> e : runs.entrySet())
            rows.add(SuiteSummary.row(e.getKey(), e.getValue(), s.targets()));
        String unit = s.stepsBased() ? "step" : "epoch";
        plots(s, runs, dir, unit);
        StringBuilder md = new StringBuilder();
        md.append("# fishleg bench suite: ").append(s.cliName).append("\n\n");
        md.append("Command: `").append(command).append("`\n\n");
        md.append("Machine: ").append(machine()).append("; backend ").append(backendLine).append(".\n\n");
        md.append("Model ").append(mc.summary()).append("; data ").append(dataName).append(", ").append(trainData.n())
                .append(" training and ").append(testData.n()).append(" test examples")
                .append(nTrain != null || nTest != null ? " (evenly spaced subsets)" : "").append("; batch ").append(batch)
                .append(", sampling ").append(samp).append(", ").append(nEpochs).append(s.stepsBased() ? " steps" : " epochs")
                .append(", evaluated every ").append(evalEvery).append(s.stepsBased() ? " steps" : evalEvery == 1 ? " epoch" : " epochs")
                .append("; seeds ").append(join(seedList)).append(". Suite run time ").append(String.format(Locale.ROOT, "%.0f s", total))
                .append(".\n\n");
        if (nTrain == null && nTest == null) {
            md.append("Each run is `fishleg train --model ").append(mc.name).append(" --optimizer OPTIMIZER --seed S --batch-size ")
                    .append(batch).append(" --epochs ").append(nEpochs).append(" --eval-every-epochs ").append(evalEvery)
                    .append(" --eval-train-set").append(runFlags).append("`, metrics in `OPTIMIZER-seedS.csv`.\n\n");
        }
        md.append("Optimizers (default hyper-parameters for ").append(mc.name)
                .append(schedule.isConstant() ? "" : "; every run's lr follows --lr-schedule " + schedule).append("):\n\n");
        for (Map.Entry<String, String> e : described.entrySet())
            md.append(e.getKey().indexOf('@') < 0 ? "- `" : "- `" + e.getKey() + "`: `").append(e.getValue()).append("`\n");
        md.append("\n");
        md.append(SuiteSummary.table(rows, "NLL"));
        md.append("\nFinal = at the last step; train NLL over the whole training set, test NLL over the whole test set; "
                + "min to max over seeds in parentheses. Best test NLL: of the mean-over-seeds curve. Training time = wall time "
                + "minus evaluations. Targets reached by only some seeds show their mean over those seeds and how many.\n\n");
        md.append("![test NLL against ").append(unit).append("s](test-vs-epoch.png)\n\n");
        md.append("![test NLL against training seconds](test-vs-seconds.png)\n");
        Path summary = dir.resolve("summary.md");
        try {
            Files.writeString(summary, md.toString(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UserException("cannot write " + summary + ": " + e.getMessage());
        }
        out.print(SuiteSummary.table(rows, "NLL"));
        out.println("summary: " + summary + " (plots test-vs-epoch.png, test-vs-seconds.png)");
        out.flush();
        return Main.EXIT_OK;
    }

    /** The two plots: mean test NLL over seeds against epoch and against training seconds. */
    private static void plots(BenchmarkSuite s, Map<String, List<SuiteSummary.Run>> runs, Path dir, String unit) {
        SuiteChart byEpoch = new SuiteChart().title(s.cliName + ": test NLL (mean over seeds)").labels(unit, "test NLL");
        SuiteChart bySeconds = new SuiteChart().title(s.cliName + ": test NLL (mean over seeds)")
                .labels("training time (s, evaluations excluded)", "test NLL");
        List<double[]> ys = new ArrayList<>();
        for (Map.Entry<String, List<SuiteSummary.Run>> e : runs.entrySet()) {
            List<MetricsCsv> ok = new ArrayList<>();
            for (SuiteSummary.Run r : e.getValue()) if (!r.diverged()) ok.add(r.metrics());
            SuiteSummary.Curve ce = SuiteSummary.meanTestCurve(ok, false), cs = SuiteSummary.meanTestCurve(ok, true);
            byEpoch.add(e.getKey(), ce.x(), ce.y());
            bySeconds.add(e.getKey(), cs.x(), cs.y());
            ys.add(ce.y());
        }
        boolean log = SuiteChart.wideRange(ys, 3);
        byEpoch.logY(log).write(dir.resolve("test-vs-epoch.png"));
        bySeconds.logY(log).write(dir.resolve("test-vs-seconds.png"));
    }

    /** --optimizers, canonical and checked; by default fishleg, adam, momentum and kfac. */
    private List<String> optimizerList() {
        List<String> names = new ArrayList<>();
        if (optimizers == null || optimizers.isEmpty()) return defaultOptimizers();
        for (String o : optimizers) {
            String n = TrainingRun.optimizerWithPreset(o);
            if (names.contains(n)) throw new UserException("--optimizers names " + n + " twice");
            names.add(n);
        }
        return names;
    }

    /** fishleg, adam, momentum and kfac. */
    static List<String> defaultOptimizers() {
        return new ArrayList<>(List.of("fishleg", "adam", "momentum", "kfac"));
    }

    /** "1,2,5-8" as a list of distinct seeds. */
    static List<Long> parseSeeds(String spec) {
        List<Long> out = new ArrayList<>();
        if (spec == null || spec.isBlank()) throw new UserException("--seeds is empty");
        for (String part : spec.split(",")) {
            String p = part.trim();
            try {
                int dash = p.indexOf('-', 1);
                long a = Long.parseLong(dash < 0 ? p : p.substring(0, dash).trim());
                long b = dash < 0 ? a : Long.parseLong(p.substring(dash + 1).trim());
                if (b < a) throw new UserException("--seeds: the range '" + p + "' is empty");
                if (b - a >= 1000) throw new UserException("--seeds: the range '" + p + "' has more than 1000 seeds");
                for (long v = a; v <= b; v++) {
                    if (out.contains(v)) throw new UserException("--seeds names seed " + v + " twice");
                    out.add(v);
                }
            } catch (NumberFormatException e) {
                throw new UserException("--seeds must be integers or ranges such as 1,2,5-8, got '" + spec + "'");
            }
        }
        return out;
    }

    /** An evenly spaced subset of {@code n} examples (all when {@code n} is null or not smaller). */
    static Dataset subset(Dataset d, Integer n, String option) {
        if (n == null || n >= d.n()) return d;
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = (int) ((long) i * d.n() / n);
        return d.select(idx);
    }

    private void checkOutDir(Path dir) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new UserException("--out " + dir + " is a file, not a folder");
        if (Files.isDirectory(dir) && !overwrite) {
            try (Stream<Path> l = Files.list(dir)) {
                if (l.findAny().isPresent())
                    throw new UserException("--out " + dir + " is not empty (an earlier suite's?); use another folder or --overwrite");
            } catch (IOException e) {
                throw new UserException("cannot read " + dir + ": " + e.getMessage());
            }
        }
    }

    /** Creates the --out folder (once the data are loaded, so a user mistake leaves no empty folder behind). */
    private static void createOutDir(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UserException("cannot create " + dir + ": " + e.getMessage());
        }
        if (!Files.isWritable(dir)) throw new UserException("--out " + dir + " is not writable");
    }

    /** The effective command line (defaults spelled out). */
    private String command(BenchmarkSuite s, List<String> opts, List<Long> seedList, int batch, int nEpochs, int evalEvery,
                           Integer nTrain, Integer nTest, Path dir) {
        StringBuilder b = new StringBuilder("fishleg bench suite --suite ").append(s.cliName);
        if (quick) b.append(" --quick");
        b.append(" --optimizers ").append(String.join(",", opts)).append(" --seeds ").append(join(seedList).replace(" ", ""))
                .append(" --batch-size ").append(batch).append(" --epochs ").append(nEpochs).append(" --eval-every-epochs ").append(evalEvery);
        if (nTrain != null) b.append(" --train-size ").append(nTrain);
        if (nTest != null) b.append(" --test-size ").append(nTest);
        b.append(" --backend ").append(backend);
        if (threads != null) b.append(" --threads ").append(threads);
        b.append(" --out ").append(dir);
        return b.toString();
    }

    /** CPU model, cores, memory and Java version. */
    static String machine() {
        String cpu = "unknown CPU";
        try (Stream<String> l = Files.lines(Path.of("/proc/cpuinfo"))) {
            cpu = l.filter(x -> x.startsWith("model name")).map(x -> x.substring(x.indexOf(':') + 1).trim()).findFirst().orElse(cpu);
        } catch (IOException | RuntimeException e) {
            // not Linux: keep the placeholder
        }
        String mem = "";
        try (Stream<String> l = Files.lines(Path.of("/proc/meminfo"))) {
            mem = l.filter(x -> x.startsWith("MemTotal")).map(x -> String.format(Locale.ROOT, ", %.0f GiB",
                    Long.parseLong(x.replaceAll("[^0-9]", "")) / 1048576.0)).findFirst().orElse("");
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return cpu + ", " + Runtime.getRuntime().availableProcessors() + " cores" + mem + "; Java " + System.getProperty("java.version");
    }

    private static String join(List<Long> l) {
        StringBuilder b = new StringBuilder();
        for (Long v : l) b.append(b.length() == 0 ? "" : ", ").append(v);
        return b.toString();
    }

    private static String fmt(double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, "%.2f", v) : "-"; }

    /**
     * One stderr line per evaluated epoch, "[adam seed 1] epoch 3/100 test 85.12 (12.3 s)" (seconds since the run
     * started); runs of more than 200 epochs (dln's steps) get a line every twentieth of the run.
     */
    static final class EpochLines implements TrainingProgress {
        private final PrintStream err;
        private final String label, unit;
        private final int epochs;
        private final long every;
        private int perEpoch = 1;
        private long total;
        private final long t0 = System.nanoTime();

        EpochLines(PrintStream err, String label, String unit, int epochs) {
            this.err = err;
            this.label = label;
            this.unit = unit;
            this.epochs = epochs;
            this.every = epochs <= 200 ? 1 : epochs / 20;
        }

        @Override
        public void started(long step, long totalSteps, int stepsPerEpoch) {
            perEpoch = Math.max(1, stepsPerEpoch);
            total = totalSteps;
        }

        @Override
        public void evaluated(long step, double testLoss) {
            long epoch = step / perEpoch;
            if (step == 0 || (epoch % every != 0 && step != total)) return;
            err.println(String.format(Locale.ROOT, "%s %s %d/%d test %s (%.1f s)", label, unit, epoch, epochs, fmt(testLoss),
                    (System.nanoTime() - t0) / 1e9));
            err.flush();
        }

        @Override
        public void message(String line) {
            err.println(label + " " + line);
            err.flush();
        }
    }
}
