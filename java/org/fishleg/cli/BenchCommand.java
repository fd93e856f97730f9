package org.fishleg.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Backends;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.backend.Tensor;
import org.fishleg.backend.cuda.CudaSupport;
import org.fishleg.bench.GemmBenchmark;
import org.fishleg.bench.SoakBenchmark;
import org.fishleg.nn.Mlp;
import org.fishleg.optim.FlopCounter;
import org.fishleg.optim.Optimizer;
import org.fishleg.optim.Optimizers;
import org.fishleg.train.DeviceAuxSource;
import org.fishleg.train.StepGraphs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fishleg bench}: timing of full training steps and of matrix products. */
@Command(name = "bench", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, usageHelpWidth = 100,
        description = "Benchmarks: 'steps' times full training steps per optimizer and batch size; 'gemm' times matrix products; "
                + "'soak' trains a small model for many steps and checks that memory stays flat; 'suite' runs a benchmark suite "
                + "(the paper's auto-encoders or the deep linear network) with several optimizers and seeds into a summary "
                + "table and plots.",
        subcommands = {BenchCommand.Steps.class, BenchCommand.Gemm.class, BenchCommand.Soak.class, SuiteCommand.class})
final class BenchCommand implements Callable<Integer>, Main.Streams {
    private PrintStream err = System.err;

    @Override
    public void streams(PrintStream o, PrintStream e) { err = e; }

    @Override
    public Integer call() {
        err.println("fishleg bench: missing benchmark (steps, gemm, soak or suite); see 'fishleg bench --help'");
        return Main.EXIT_USAGE;
    }

    /** {@code fishleg bench steps}. */
    @Command(name = "steps", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, usageHelpWidth = 100, sortOptions = false,
            description = {"Time full training steps (loss, gradient, optimizer update; FishLeg's auxiliary updates included at their "
                    + "period) on synthetic random inputs of the model's shape, so no data files are needed. After warm-up, steps run "
                    + "in timed blocks of --block-steps (the backend is synchronized at the end of each block) for about --seconds per "
                    + "configuration; the table reports the median ms/step over blocks, steps/s, and the FLOP estimate of optimizers "
                    + "that provide one (momentum: about 6 x batch x parameters)."})
    static final class Steps implements Callable<Integer>, Main.Streams {
        private PrintStream out = System.out, err = System.err;

        @Override
        public void streams(PrintStream o, PrintStream e) { out = o; err = e; }

        @Option(names = "--backend", paramLabel = "NAME", defaultValue = "auto",
                description = "auto | cpu | cuda (FISHLEG_BACKEND overrides auto). Default: ${DEFAULT-VALUE}.")
        String backend;

        @Option(names = "--model", paramLabel = "NAME|SPEC", defaultValue = "mnist-ae",
                description = "Named model or spec, as for train. Default: ${DEFAULT-VALUE}.")
        String model;

        @Option(names = "--likelihood", paramLabel = "KIND", description = "Likelihood for a spec model (default bernoulli).")
        String likelihood;

        @Option(names = "--batch-sizes", paramLabel = "B,B,...", split = ",", defaultValue = "100,1000",
                description = "Batch sizes. Default: ${DEFAULT-VALUE}.")
        List<Integer> batchSizes;

        @Option(names = "--optimizers", paramLabel = "NAME,...", split = ",", defaultValue = "momentum,fishleg",
                description = "Optimizers: sgd, momentum, adam, adamw, fishleg, fishleg-qg (OCaml ordering forced), fishleg-g (JAX "
                        + "ordering forced), each with default hyper-parameters; a FishLeg name may take @PRESET (e.g. "
                        + "fishleg-qg@ocaml-mnist), else the model's default preset. Default: ${DEFAULT-VALUE}.")
        List<String> optimizers;

        @Option(names = "--seconds", paramLabel = "S", defaultValue = "3",
                description = "Timed seconds per configuration (at least 3 blocks). Default: ${DEFAULT-VALUE}.")
        double seconds;

        @Option(names = "--warmup-steps", paramLabel = "N", defaultValue = "5",
                description = "Untimed steps first. Default: ${DEFAULT-VALUE}.")
        int warmup;

        @Option(names = "--block-steps", paramLabel = "N", defaultValue = "10",
                description = "Steps per timed block (10 covers one FishLeg auxiliary period). Default: ${DEFAULT-VALUE}.")
        int block;

        @Option(names = "--threads", paramLabel = "N", description = "CPU backend threads. Default: all processors.")
        Integer threads;

        @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed. Default: ${DEFAULT-VALUE}.")
        long seed;

        @Option(names = "--graphs", paramLabel = "WHEN", defaultValue = "both",
                description = "both | on | off: on a backend with graphs (CUDA), time each configuration operation by operation "
                        + "(mode eager), with its repeating steps replayed as captured graphs (mode graph, as training runs them), "
                        + "or both. Backends without graphs time eager only. Default: ${DEFAULT-VALUE}.")
        String graphs;

        @Override
        public Integer call() {
            ModelChoice mc = ModelChoice.parse(model, likelihood);
            List<String> opts = new ArrayList<>();
            for (String o : optimizers) {
                opts.add(TrainingRun.optimizerWithPreset(o));
            }
            for (int b : batchSizes) if (b < 1) throw new UserException("--batch-sizes must be >= 1, got " + b);
            if (!(seconds > 0)) throw new UserException("--seconds must be > 0, got " + seconds);
            if (warmup < 0) throw new UserException("--warmup-steps must be >= 0, got " + warmup);
            if (block < 1) throw new UserException("--block-steps must be >= 1, got " + block);
            String gm = graphs.trim().toLowerCase(Locale.ROOT);
            if (!gm.equals("both") && !gm.equals("on") && !gm.equals("off"))
                throw new UserException("--graphs must be both, on or off, got '" + graphs + "'");
            String choice;
            try {
                choice = Backends.resolveChoice(backend);
            } catch (IllegalArgumentException e) {
                throw new UserException(e.getMessage());
            }
            if (choice.equals("cuda") && !CudaSupport.probe().usable)
                throw new UserException("--backend cuda: CUDA is not usable here: " + CudaSupport.probe().reason);
            if (threads != null) {
                if (threads < 1) throw new UserException("--threads must be >= 1, got " + threads);
                System.setProperty("fishleg.cpu.threads", Integer.toString(threads));
            }
            try (Backend be = Backends.open(choice, out::println)) {
                out.println("model: " + mc.summary());
                out.printf(Locale.ROOT, "warm-up %d steps, blocks of %d steps, %.1f s per configuration, synthetic data%n",
                        warmup, block, seconds);
                String dev = be.description();
                int dw = Math.max(6, dev.length());
                String fmtH = "%-7s  %-" + dw + "s  %6s  %-22s  %-5s  %10s  %9s  %11s  %9s  %12s%n";
                List<Boolean> modes = new ArrayList<>();
                if (!be.supportsGraphs() || !gm.equals("on")) modes.add(false);
                if (be.supportsGraphs() && !gm.equals("off")) modes.add(true);
                out.printf(Locale.ROOT, fmtH, "backend", "device", "batch", "optimizer", "mode", "ms/step", "steps/s", "GFLOP/step", "GFLOP/s",
                        "s/epoch(60k)");
                for (int b : batchSizes) {
                    double rate = gemmRate(be, mc, b);
                    out.printf(Locale.ROOT, "backend GEMM rate on this model's layer shapes at batch %d (forward, backward, "
                            + "weight-gradient products, timed alone): %.1f GFLOP/s%n", b, rate / 1e9);
                    java.util.Map<String, double[]> results = new java.util.LinkedHashMap<>();
                    for (String o : opts) for (boolean useGraphs : modes) {
                        double[] r = time(be, mc, b, o, useGraphs);
                        results.put(o + (useGraphs ? " graph" : " eager"), r);
                        String gf = Double.isNaN(r[1]) ? "-" : String.format(Locale.ROOT, "%.3f", r[1] / 1e9);
                        String gfs = Double.isNaN(r[1]) ? "-" : String.format(Locale.ROOT, "%.1f", r[1] / 1e9 / (r[0] / 1e3));
                        out.printf(Locale.ROOT, fmtH, be.name(), dev, b, o, useGraphs ? "graph" : "eager", String.format(Locale.ROOT, "%.3f", r[0]),
                                String.format(Locale.ROOT, "%.2f", 1000 / r[0]), gf, gfs,
                                String.format(Locale.ROOT, "%.1f", r[0] / 1e3 * (60000 / b)));
                        out.flush();
                    }
                    printTargets(b, rate, opts, modes, results);
                }
            }
            return Main.EXIT_OK;
        }

        /**
         * The speed targets, from the rows just printed: for each FishLeg configuration, its time ratio to
         * SGD-momentum against its FLOP ratio (target: time ratio <= 1.1 x FLOP ratio, i.e. its extra work runs at
         * >= 90% of momentum's FLOP rate), and its FLOP rate as a fraction of the GEMM rate on the step's shapes
         * (target >= 50%).
         */
        private void printTargets(int batch, double gemmRate, List<String> opts, List<Boolean> modes, java.util.Map<String, double[]> results) {
            for (boolean g : modes) {
                String mode = g ? " graph" : " eager";
                double[] mom = results.get("momentum" + mode);
                for (String o : opts) {
                    double[] r = results.get(o + mode);
                    if (!o.startsWith("fishleg") || r == null || Double.isNaN(r[1])) continue;
                    StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "targets at batch %d, %s (%s):", batch, o, mode.trim()));
                    if (mom != null && !Double.isNaN(mom[1])) {
                        double tr = r[0] / mom[0], fr = r[1] / mom[1];
                        line.append(String.format(Locale.ROOT, " time ratio to momentum %.2f, FLOP ratio %.2f, time/FLOP ratio %.2f (target <= 1.10: %s);",
                                tr, fr, tr / fr, tr <= 1.1 * fr ? "met" : "NOT met"));
                    }
                    double frac = r[1] / (r[0] / 1e3) / gemmRate;
                    line.append(String.format(Locale.ROOT, " %.0f%% of the GEMM rate (target >= 50%%: %s)", 100 * frac, frac >= 0.5 ? "met" : "NOT met"));
                    out.println(line);
                }
            }
        }

        /**
         * FLOP/s of the backend's GEMM alone on the products of one training step of this model at this batch size
         * (X W, delta W^T, H^T delta per layer), the ceiling a step's GEMM-bound work can reach.
         */
        private double gemmRate(Backend be, ModelChoice mc, int batch) {
            List<Tensor> owned = new ArrayList<>();
            try {
                List<Tensor[]> prods = new ArrayList<>();
                List<boolean[]> trans = new ArrayList<>();
                double flops = 0;
                for (org.fishleg.nn.MlpSpec.LayerSpec l : mc.spec.layers()) {
                    Tensor h = mk(be, owned, batch, l.in), w = mk(be, owned, l.in, l.out), a = mk(be, owned, batch, l.out);
                    Tensor d = mk(be, owned, batch, l.out), dh = mk(be, owned, batch, l.in), g = mk(be, owned, l.in, l.out);
                    prods.add(new Tensor[] {h, w, a}); trans.add(new boolean[] {false, false});
                    prods.add(new Tensor[] {d, w, dh}); trans.add(new boolean[] {false, true});
                    prods.add(new Tensor[] {h, d, g}); trans.add(new boolean[] {true, false});
                    flops += 3 * 2.0 * batch * l.in * l.out;
                }
                for (Tensor t : owned) be.randUniform(t);
                Runnable all = () -> {
                    for (int i = 0; i < prods.size(); i++) {
                        Tensor[] t = prods.get(i);
                        be.gemm(trans.get(i)[0], trans.get(i)[1], 1f, t[0], t[1], 0f, t[2]);
                    }
                };
                for (int i = 0; i < 3; i++) all.run();
                be.synchronize();
                List<Double> times = new ArrayList<>();
                long start = System.nanoTime();
                while (times.size() < 5 || (System.nanoTime() - start) / 1e9 < Math.min(seconds, 2)) {
                    long t = System.nanoTime();
                    all.run();
                    be.synchronize();
                    times.add((System.nanoTime() - t) / 1e9);
                }
                double[] a = times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
                return flops / a[a.length / 2];
            } finally {
                for (Tensor t : owned) t.close();
            }
        }

        private static Tensor mk(Backend be, List<Tensor> owned, int r, int c) {
            Tensor t = be.zeros(r, c);
            owned.add(t);
            return t;
        }

        /** {median ms/step, flops/step or NaN}. */
        private double[] time(Backend be, ModelChoice mc, int batch, String optName, boolean useGraphs) {
            int in = mc.spec.inputSize(), outW = mc.spec.outputSize();
            try (Mlp net = new Mlp(be, mc.spec, mc.likelihood);
                 Tensor x = be.zeros(batch, in);
                 Tensor yOwn = (in == outW && mc.likelihood.kind != LikelihoodKind.GAUSSIAN) ? null : be.zeros(batch, outW);
                 Tensor loss = be.zeros(1, 1)) {
                net.init(seed);
                be.randUniform(x);
                Tensor y = yOwn == null ? x : yOwn;
                if (yOwn != null) {
                    if (mc.likelihood.kind == LikelihoodKind.GAUSSIAN) be.randNormal(yOwn, 0f, 1f);
                    else be.randUniform(yOwn);
                }
                // a pool of synthetic inputs for FishLeg's auxiliary batches, gathered like real training does
                int poolRows = Math.max(2 * batch, 2000);
                try (Tensor pool = be.zeros(poolRows, in)) {
                    be.randUniform(pool);
                    DeviceAuxSource aux = new DeviceAuxSource(be, pool, DeviceAuxSource.seedFor(seed));
                    Optimizers.Options oo = new Optimizers.Options().modelName(mc.name);
                    String base = TrainingRun.applyPreset(optName, oo);
                    List<String> notices = new ArrayList<>();
                    try (Optimizer opt = Optimizers.create(base, net, oo, aux);
                         StepGraphs sg = new StepGraphs(be, useGraphs, notices::add)) {
                        Runnable nothing = () -> { };
                        for (int i = 0; i < warmup; i++) sg.step(opt, net, x, y, loss, nothing);
                        be.synchronize();
                        List<Double> perStep = new ArrayList<>();
                        long start = System.nanoTime();
                        while (perStep.size() < 3 || (System.nanoTime() - start) / 1e9 < seconds) {
                            long t = System.nanoTime();
                            for (int i = 0; i < block; i++) sg.step(opt, net, x, y, loss, nothing);
                            be.synchronize();
                            perStep.add((System.nanoTime() - t) / 1e6 / block);
                        }
                        for (String n : notices) err.println("bench: " + optName + " at batch " + batch + ": " + n);
                        if (useGraphs && sg.replayedSteps() == 0)
                            err.println("bench: " + optName + " at batch " + batch + ": no step was replayed from a graph (" + sg.summary() + ")");
                        float last = be.readScalar(loss);
                        if (!Float.isFinite(last))
                            err.println("bench: warning: " + optName + " at batch " + batch + " reached a non-finite loss on random data");
                        double[] a = perStep.stream().mapToDouble(Double::doubleValue).toArray();
                        Arrays.sort(a);
                        double med = a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
                        double flops = opt instanceof FlopCounter ? ((FlopCounter) opt).flopsPerStep(batch) : Double.NaN;
                        return new double[] {med, flops};
                    }
                }
            }
        }
    }

    /** {@code fishleg bench gemm}: {@link GemmBenchmark#run}. */
    @Command(name = "gemm", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, usageHelpWidth = 100,
            description = "Time float32 matrix products of the auto-encoders' layer shapes on the CPU backend, against plain "
                    + "cblas_sgemm (org.fishleg.bench.GemmBenchmark).")
    static final class Gemm implements Callable<Integer>, Main.Streams {
        private PrintStream out = System.out;

        @Override
        public void streams(PrintStream o, PrintStream e) { out = o; }

        @Option(names = "--seconds", paramLabel = "S", defaultValue = "2",
                description = "Time budget in seconds, shared by all shapes. Default: ${DEFAULT-VALUE}.")
        int seconds;

        @Override
        public Integer call() {
            if (seconds < 1) throw new UserException("--seconds must be >= 1, got " + seconds);
            GemmBenchmark.run(out, seconds);
            out.flush();
            return Main.EXIT_OK;
        }
    }

    /** {@code fishleg bench soak}: {@link SoakBenchmark#run}. */
    @Command(name = "soak", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, usageHelpWidth = 100, sortOptions = false,
            description = {"Memory soak: train a small model for --steps steps through the real trainer (batch gathering, graph "
                    + "replay where the backend has it, metrics CSV, test evaluation every epoch, a checkpoint every --every steps) on "
                    + "synthetic data, and every --every steps print the JVM heap in use after a full GC, the resident memory "
                    + "(VmRSS) and the backend's allocated bytes (device memory on CUDA). Verdict per measure: flat when the last "
                    + "quarter's largest value after warm-up (the first tenth of the steps) is within --tolerance of the first "
                    + "quarter's (plus 1 MiB for the heap and 4 MiB for RSS); backend bytes must not change at all. Exit code 0 "
                    + "when all are flat, 1 otherwise."})
    static final class Soak implements Callable<Integer>, Main.Streams {
        private PrintStream out = System.out;

        @Override
        public void streams(PrintStream o, PrintStream e) { out = o; }

        @Option(names = "--backend", paramLabel = "NAME", defaultValue = "cpu",
                description = "auto | cpu | cuda. Default: ${DEFAULT-VALUE}.")
        String backend;

        @Option(names = "--model", paramLabel = "NAME|SPEC", defaultValue = "20-20-20:linear",
                description = "Named model or spec, as for train. Default: ${DEFAULT-VALUE}.")
        String model;

        @Option(names = "--likelihood", paramLabel = "KIND", description = "bernoulli (default for a spec) or gaussian[:SIGMA].")
        String likelihood;

        @Option(names = "--optimizer", paramLabel = "NAME", defaultValue = "fishleg", description = "Optimizer. Default: ${DEFAULT-VALUE}.")
        String optimizer;

        @Option(names = "--steps", paramLabel = "N", defaultValue = "100000", description = "Training steps. Default: ${DEFAULT-VALUE}.")
        long steps;

        @Option(names = "--every", paramLabel = "N", defaultValue = "2000",
                description = "Steps between samples (and checkpoints). Default: ${DEFAULT-VALUE}.")
        int every;

        @Option(names = "--batch-size", paramLabel = "B", defaultValue = "10", description = "Batch size. Default: ${DEFAULT-VALUE}.")
        int batch;

        @Option(names = "--examples", paramLabel = "N", defaultValue = "1000",
                description = "Synthetic training examples (an epoch is N / B steps; 200 test examples). Default: ${DEFAULT-VALUE}.")
        int examples;

        @Option(names = "--tolerance", paramLabel = "PERCENT", defaultValue = "10",
                description = "Allowed growth of the last quarter's maximum over the first quarter's. Default: ${DEFAULT-VALUE}.")
        double tolerance;

        @Option(names = "--graphs", paramLabel = "on|off", defaultValue = "on", description = "Graph replay of steps (CUDA). Default: ${DEFAULT-VALUE}.")
        String graphs;

        @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed. Default: ${DEFAULT-VALUE}.")
        long seed;

        @Override
        public Integer call() throws java.io.IOException {
            ModelChoice mc = ModelChoice.parse(model, likelihood);
            SoakBenchmark.Settings s = new SoakBenchmark.Settings();
            s.spec = mc.spec;
            s.likelihood = mc.likelihood;
            s.modelName = mc.name;
            try {
                s.optimizer = Optimizers.canonicalName(optimizer);
            } catch (IllegalArgumentException e) {
                throw new UserException(e.getMessage());
            }
            if (steps < 4 || every < 1 || every > steps / 4)
                throw new UserException("--every must be in 1..steps/4 (at least 4 samples), got --steps " + steps + " --every " + every);
            if (batch < 1 || examples < batch)
                throw new UserException("--batch-size must be >= 1 and --examples >= the batch size, got " + batch + " and " + examples);
            if (!(tolerance >= 0)) throw new UserException("--tolerance must be >= 0, got " + tolerance);
            String g = graphs.trim().toLowerCase(Locale.ROOT);
            if (!g.equals("on") && !g.equals("off")) throw new UserException("--graphs must be on or off, got '" + graphs + "'");
            if (mc.likelihood.kind == LikelihoodKind.SOFTMAX)
                throw new UserException("bench soak: the synthetic targets suit bernoulli or gaussian likelihoods, not softmax");
            s.steps = steps;
            s.every = every;
            s.batch = batch;
            s.examples = examples;
            s.tolerance = tolerance / 100;
            s.graphs = g.equals("on");
            s.seed = seed;
            String choice;
            try {
                choice = Backends.resolveChoice(backend);
            } catch (IllegalArgumentException e) {
                throw new UserException(e.getMessage());
            }
            if (choice.equals("cuda") && !CudaSupport.probe().usable)
                throw new UserException("--backend cuda: CUDA is not usable here: " + CudaSupport.probe().reason);
            java.nio.file.Path work = java.nio.file.Files.createTempDirectory("fishleg-soak-");
            try (Backend be = Backends.open(choice, out::println)) {
                Runtime rt = Runtime.getRuntime();
                out.printf(Locale.ROOT, "model: %s; optimizer %s; batch %d; %d steps, a sample every %d; JVM max heap %d MiB, %d processors%n",
                        mc.summary(), s.optimizer, batch, steps, every, rt.maxMemory() >> 20, rt.availableProcessors());
                SoakBenchmark.Result r = SoakBenchmark.run(be, s, work, out);
                out.flush();
                return r.flat() ? Main.EXIT_OK : Main.EXIT_DIVERGED;
            } finally {
                deleteTree(work);
            }
        }

        private static void deleteTree(java.nio.file.Path p) {
            try (java.util.stream.Stream<java.nio.file.Path> w = java.nio.file.Files.walk(p)) {
                w.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (java.io.IOException e) {
                // a temporary folder left behind is harmless
            }
        }
    }
}
