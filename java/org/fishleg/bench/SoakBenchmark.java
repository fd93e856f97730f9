package org.fishleg.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Stream;
import org.fishleg.backend.Backend;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Likelihood;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.fishleg.optim.Optimizer;
import org.fishleg.optim.Optimizers;
import org.fishleg.train.DeviceDataset;
import org.fishleg.train.Sampling;
import org.fishleg.train.TrainResult;
import org.fishleg.train.Trainer;
import org.fishleg.train.TrainerConfig;
import org.fishleg.train.TrainingProgress;

/**
 * Memory soak: trains a small model for many steps through the real {@link Trainer} (batch gathering, graph
 * replay where the backend has it, metrics CSV, test evaluation every epoch, a checkpoint every sample) on
 * synthetic data, and every {@code every} steps records the JVM heap in use after a full GC, the process's
 * resident memory (VmRSS from /proc/self/status) and the backend's allocated bytes ({@link Backend#bytesInUse}:
 * off-heap tensors on the CPU, device memory on CUDA).
 *
 * <p>Verdict, per measure: flat when the largest value of the last quarter of the samples after warm-up is at
 * most the largest of the first quarter times (1 + tolerance) plus a small absolute slack (1 MiB for the heap,
 * 4 MiB for RSS, 0 for backend bytes, which must not change at all: a training step allocates nothing after the
 * first). Warm-up is the first tenth of the steps (JIT compilation, lazily created work buffers and graphs).
 */
public final class SoakBenchmark {
    private SoakBenchmark() {}

    /** One measurement. RSS is -1 where /proc/self/status is not readable. */
    public record Sample(long step, double seconds, long heapBytes, long rssBytes, long backendBytes) {}

    /** The samples, each measure's verdict and the overall one. */
    public record Result(List<Sample> samples, List<String> verdicts, boolean flat, TrainResult train) {}

    /** Settings; the defaults are the documented soak (docs/BENCHMARKS.md). */
    public static final class Settings {
        public MlpSpec spec = MlpSpec.parse("20-20-20:linear");
        public Likelihood likelihood = Likelihood.bernoulli();
        public String modelName;
        public String optimizer = "fishleg";
        public int batch = 10;
        public long steps = 100_000;
        public int every = 2_000;
        public int examples = 1_000;
        int testExamples = 200;
        public long seed = 1;
        public double tolerance = 0.10;
        public boolean graphs = true;
    }

    private static final long MIB = 1L << 20;

    /** Runs the soak on {@code be}, printing the table to {@code out}; {@code work} holds the metrics and checkpoints. */
    public static Result run(Backend be, Settings s, Path work, PrintStream out) {
        if (s.steps < 4 || s.every < 1 || s.every > s.steps / 4)
            throw new IllegalArgumentException("need steps >= 4 and 1 <= every <= steps / 4 (at least 4 samples), got steps "
                    + s.steps + ", every " + s.every);
        if (s.likelihood.kind == LikelihoodKind.SOFTMAX)
            throw new IllegalArgumentException("the soak's synthetic targets are for bernoulli or gaussian likelihoods, not softmax");
        int in = s.spec.inputSize(), outW = s.spec.outputSize();
        List<Sample> samples = Collections.synchronizedList(new ArrayList<>());
        long t0 = System.nanoTime();
        out.printf(Locale.ROOT, "%10s %9s %10s %10s %14s%n", "step", "seconds", "heap MiB", "RSS MiB", "backend bytes");
        Function<Long, Sample> measure = step -> {
            Sample m = new Sample(step, (System.nanoTime() - t0) / 1e9, heapAfterGc(), rssBytes(), be.bytesInUse());
            out.printf(Locale.ROOT, "%10d %9.1f %10.2f %10s %14d%n", m.step, m.seconds, m.heapBytes / (double) MIB,
                    m.rssBytes < 0 ? "-" : String.format(Locale.ROOT, "%.1f", m.rssBytes / (double) MIB), m.backendBytes);
            out.flush();
            return m;
        };
        TrainResult tr;
        try (DeviceDataset train = synthetic(be, "soak-train", s.examples, in, outW, s.likelihood, s.seed);
             DeviceDataset test = synthetic(be, "soak-test", s.testExamples, in, outW, s.likelihood, s.seed + 1);
             Mlp net = new Mlp(be, s.spec, s.likelihood)) {
            net.init(s.seed);
            TrainerConfig cfg = TrainerConfig.builder().batchSize(s.batch).steps(s.steps).logEvery(100).evalAtStart(true)
                    .evalEveryEpochs(1).seed(s.seed).metrics(work.resolve("soak-metrics.csv")).checkpointDir(work.resolve("ckpt"))
                    .checkpointEvery(s.every).graphs(s.graphs).sampling(Sampling.SHUFFLE).build();
            TrainingProgress sampler = new TrainingProgress() {
                @Override
                public void stepped(long step) {
                    if (step % s.every == 0) samples.add(measure.apply(step));
                }
            };
            try (Trainer trainer = new Trainer(net, train, test, cfg, sampler);
                 Optimizer opt = Optimizers.create(s.optimizer, net, new Optimizers.Options().modelName(s.modelName), trainer.auxSource())) {
                tr = trainer.run(opt);
            }
        }
        List<String> verdicts = new ArrayList<>();
        boolean flat = true;
        List<Sample> after = new ArrayList<>();
        for (Sample m : samples) if (m.step > s.steps / 10) after.add(m);
        int q = Math.max(1, after.size() / 4);
        List<Sample> first = after.subList(0, q), last = after.subList(after.size() - q, after.size());
        flat &= verdict(verdicts, "JVM heap after GC", first, last, Sample::heapBytes, s.tolerance, MIB);
        if (after.get(0).rssBytes >= 0) flat &= verdict(verdicts, "resident memory (VmRSS)", first, last, Sample::rssBytes, s.tolerance, 4 * MIB);
        else verdicts.add("resident memory: not measured (no /proc/self/status)");
        flat &= verdict(verdicts, be.name() + " backend bytes in use", first, last, Sample::backendBytes, 0, 0);
        for (String v : verdicts) out.println(v);
        out.printf(Locale.ROOT, "soak: %s after %d steps (%.1f s, %.3f ms/step); %d samples, %d after warm-up, quarters of %d%n",
                flat ? "FLAT" : "GROWING", tr.steps, tr.sessionSeconds, tr.msPerStep(), samples.size(), after.size(), q);
        return new Result(List.copyOf(samples), verdicts, flat, tr);
    }

    private static boolean verdict(List<String> out, String what, List<Sample> first, List<Sample> last, Function<Sample, Long> f,
                                   double tol, long slack) {
        long a = first.stream().mapToLong(f::apply).max().getAsLong();
        long b = last.stream().mapToLong(f::apply).max().getAsLong();
        long limit = (long) (a * (1 + tol)) + slack;
        boolean ok = b <= limit;
        out.add(String.format(Locale.ROOT, "%s: first quarter max %.2f MiB, last quarter max %.2f MiB (%+.2f%%), limit %.2f MiB: %s",
                what, a / (double) MIB, b / (double) MIB, a == 0 ? 0.0 : 100.0 * (b - a) / a, limit / (double) MIB,
                ok ? "flat" : "GROWING"));
        return ok;
    }

    /** Heap in use after a full collection (System.gc() twice; G1 and the other collectors in use run it). */
    static long heapAfterGc() {
        System.gc();
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** VmRSS of this process in bytes, or -1 where /proc/self/status is unavailable. */
    static long rssBytes() {
        Path p = Path.of("/proc/self/status");
        if (!Files.isReadable(p)) return -1;
        try (Stream<String> lines = Files.lines(p)) {
            return lines.filter(l -> l.startsWith("VmRSS:")).findFirst()
                    .map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024).orElse(-1L);
        } catch (IOException | UncheckedIOException | NumberFormatException e) {
            return -1;
        }
    }

    private static DeviceDataset synthetic(Backend be, String name, int n, int in, int out, Likelihood lik, long seed) {
        Tensor x = be.zeros(n, in);
        try {
            be.randUniform(x);
            if (in == out && lik.kind == LikelihoodKind.BERNOULLI) return DeviceDataset.of(name, x, x);
            Tensor y = be.zeros(n, out);
            if (lik.kind == LikelihoodKind.GAUSSIAN) be.randNormal(y, 0f, 1f);
            else be.randUniform(y);
            return DeviceDataset.of(name, x, y);
        } catch (RuntimeException e) {
            x.close();
            throw e;
        }
    }
}
