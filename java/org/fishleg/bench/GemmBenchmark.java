package org.fishleg.bench;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.fishleg.backend.Tensor;
import org.fishleg.backend.cpu.CpuBackend;

/**
 * GEMM throughput of {@link CpuBackend#gemm} against {@code cblas_sgemm} called directly on the same
 * native buffers, for the GEMM shapes of the MNIST auto-encoder (784-1000-500-250-30-250-500-1000-784)
 * at batch 100 and 1000 plus a square 1000x784x1000 product. The baseline is {@code cblas_sgemm} with
 * OpenBLAS's own threads on all cores; the backend by default runs single-threaded OpenBLAS calls on
 * blocks of C over its Java worker threads (see {@link CpuBackend#gemm}). For each shape each variant is
 * warmed up and then timed in samples of about 10 ms for a fixed time, keeping the median GFLOP/s
 * (2 m n k flops per product); all shapes are measured in {@link #ROUNDS} rounds and the table shows each
 * shape's best round and the ratio, which should be ~1.0.
 *
 * <p>Run: {@code java -cp target/classes:target/lib/* org.fishleg.bench.GemmBenchmark [seconds]}.
 */
public final class GemmBenchmark {
    private GemmBenchmark() {}

    /** One product C(m x n) = op(A) op(B) with inner dimension k. */
    private static final class Shape {
        final String label;
        final boolean ta, tb;
        final int m, k, n;
        Shape(String label, boolean ta, boolean tb, int m, int k, int n) {
            this.label = label; this.ta = ta; this.tb = tb; this.m = m; this.k = k; this.n = n;
        }
        double flops() { return 2.0 * m * (double) n * k; }
    }

    private static List<Shape> shapes() {
        int[][] layers = {{784, 1000}, {1000, 500}, {500, 250}, {250, 30}};
        List<Shape> l = new ArrayList<>();
        for (int batch : new int[] {100, 1000}) {
            for (int[] w : layers) {
                int in = w[0], out = w[1];
                String layer = in + "x" + out;
                l.add(new Shape("B=" + batch + " " + layer + " fwd X.W", false, false, batch, in, out));
                l.add(new Shape("B=" + batch + " " + layer + " bwd D.W^T", false, true, batch, out, in));
                l.add(new Shape("B=" + batch + " " + layer + " grad H^T.D", true, false, in, batch, out));
            }
        }
        l.add(new Shape("square 1000x784x1000", false, false, 1000, 784, 1000));
        return l;
    }

    /** Rounds over all shapes; each shape reports its best round (transient load on a shared machine hurts one round, not all). */
    static final int ROUNDS = 3;

    /** Benchmarks every shape, spending about {@code seconds} in total, and prints the table to {@code out}. */
    public static void run(PrintStream out, int seconds) {
        List<Shape> shapes = shapes();
        double perVariant = Math.max(0.02, seconds / (2.0 * ROUNDS * shapes.size())); // seconds per shape, variant and round
        try (CpuBackend cpu = new CpuBackend()) {
            out.println("CPU GEMM benchmark: " + cpu.description());
            out.println("java " + System.getProperty("java.version") + ", backend's OpenBLAS threads " + openblas_nolapack.blas_get_num_threads()
                    + ", baseline cblas_sgemm with " + Runtime.getRuntime().availableProcessors() + " OpenBLAS threads"
                    + ", " + ROUNDS + " rounds x " + String.format(Locale.ROOT, "%.2f", perVariant)
                    + " s per shape and variant; median of ~10 ms samples, best round shown");
            out.println("load average at start: " + loadAverage());
            out.println();
            double[][] best = new double[shapes.size()][2];
            for (int round = 0; round < ROUNDS; round++) {
                for (int i = 0; i < shapes.size(); i++) {
                    double[] r = measure(cpu, shapes.get(i), perVariant);
                    best[i][0] = Math.max(best[i][0], r[0]);
                    best[i][1] = Math.max(best[i][1], r[1]);
                }
            }
            out.println(String.format(Locale.ROOT, "| %-30s | %4s | %4s | %4s | %14s | %16s | %5s |",
                    "shape (op(A) m x k, op(B) k x n)", "m", "k", "n", "gemm GFLOP/s", "cblas GFLOP/s", "ratio"));
            out.println("|" + "-".repeat(32) + "|-----:|-----:|-----:|---------------:|-----------------:|------:|");
            double sumLogRatio = 0;
            for (int i = 0; i < shapes.size(); i++) {
                Shape s = shapes.get(i);
                double ratio = best[i][0] / best[i][1];
                sumLogRatio += Math.log(ratio);
                out.println(String.format(Locale.ROOT, "| %-30s | %4d | %4d | %4d | %14.1f | %16.1f | %5.2f |",
                        s.label, s.m, s.k, s.n, best[i][0], best[i][1], ratio));
            }
            out.println();
            out.println(String.format(Locale.ROOT, "geometric mean ratio gemm / cblas over %d shapes: %.3f", shapes.size(),
                    Math.exp(sumLogRatio / shapes.size())));
            out.println("load average at end: " + loadAverage());
        }
    }

    private static String loadAverage() {
        try {
            return new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of("/proc/loadavg")),
                    java.nio.charset.StandardCharsets.US_ASCII).trim();
        } catch (java.io.IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** Median GFLOP/s of {wrapper, direct}. */
    private static double[] measure(CpuBackend cpu, Shape s, double seconds) {
        Random rnd = new Random(1);
        int ar = s.ta ? s.k : s.m, ac = s.ta ? s.m : s.k, br = s.tb ? s.n : s.k, bc = s.tb ? s.k : s.n;
        try (Tensor a = cpu.upload(random(rnd, ar * ac), ar, ac);
             Tensor b = cpu.upload(random(rnd, br * bc), br, bc);
             Tensor c = cpu.zeros(s.m, s.n)) {
            FloatPointer pa = cpu.nativePointer(a), pb = cpu.nativePointer(b), pc = cpu.nativePointer(c);
            int transA = s.ta ? CblasTrans : CblasNoTrans, transB = s.tb ? CblasTrans : CblasNoTrans;
            Runnable wrapper = () -> cpu.gemm(s.ta, s.tb, 1f, a, b, 0f, c);
            Runnable direct = () -> openblas_nolapack.cblas_sgemm(CblasRowMajor, transA, transB, s.m, s.n, s.k,
                    1f, pa, ac, pb, bc, 0f, pc, s.n);
            double w = phase(wrapper, s, seconds);
            // the baseline is OpenBLAS with its own threads on all cores, as a program calling it directly would
            // use it; its threads busy-wait after each call, so the backend's setting is restored after a pause
            int backendThreads = openblas_nolapack.blas_get_num_threads();
            openblas_nolapack.blas_set_num_threads(Runtime.getRuntime().availableProcessors());
            double d;
            try {
                d = phase(direct, s, seconds);
            } finally {
                openblas_nolapack.blas_set_num_threads(backendThreads);
            }
            pause(300);
            return new double[] {w, d};
        }
    }

    /** Warm-up, then ~10 ms samples for {@code seconds}; the median GFLOP/s. */
    private static double phase(Runnable r, Shape s, double seconds) {
        long t0 = System.nanoTime();
        int calls = 0;
        while (System.nanoTime() - t0 < 50_000_000L || calls < 2) { r.run(); calls++; }
        double perCall = (System.nanoTime() - t0) / 1e9 / calls;
        int reps = (int) Math.max(1, Math.min(1_000_000, Math.round(0.010 / perCall)));
        List<Double> l = new ArrayList<>();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < end || l.size() < 3) l.add(sample(r, reps, s.flops()));
        return median(l);
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static double sample(Runnable r, int reps, double flops) {
        long t0 = System.nanoTime();
        for (int i = 0; i < reps; i++) r.run();
        double sec = (System.nanoTime() - t0) / 1e9;
        return flops * reps / sec / 1e9;
    }

    private static double median(List<Double> l) {
        double[] a = l.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return a.length % 2 == 1 ? a[a.length / 2] : 0.5 * (a[a.length / 2 - 1] + a[a.length / 2]);
    }

    private static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * 0.1);
        return a;
    }

    /** Runs the benchmark with a time budget of args[0] seconds (default 50), printing to standard output. */
    public static void main(String[] args) {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        run(System.out, seconds);
    }
}
