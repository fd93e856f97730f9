package org.fishleg.experiments;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Backends;
import org.fishleg.backend.Tensor;
import org.fishleg.data.DeepLinearData;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.Models;
import org.fishleg.optim.Optimizer;
import org.fishleg.optim.Optimizers;
import org.fishleg.optim.SgdMomentum;
import org.fishleg.optim.fishleg.AuxBatchSource;
import org.fishleg.optim.fishleg.FishLeg;
import org.fishleg.optim.fishleg.FishLegConfig;

/**
 * The FishLeg paper's deep-linear-network theory experiment (fishleg-algorithm.md sections 5 and 6):
 * the student {@code Models.get("dln")} (19 x (20x20), no biases, Gaussian with learned sigma) is trained
 * full batch on the 40 examples of {@link DeepLinearData#standard(long)} from ONE seeded initial point with
 * FishLeg ("ocaml-dln" preset), SGD with momentum (lr 2e-3, EMA form, mu 0.9) and Adam (lr 2e-4, betas
 * (0.9, 0.9), eps 1e-4), all built by {@link Optimizers#create} with model name "dln" exactly as the CLI does.
 *
 * <p>Every iteration the training loss (mean NLL over the 40 examples, learned sigma included) is
 * recorded; every {@code evalEvery} iterations also the test loss (1000 held-out inputs), sigma and, for
 * FishLeg, the EXACT auxiliary loss A(lambda; u) = 1/2 z^T F z - u^T z, z = Q(lambda) u, with the
 * population Fisher F of {@link DeepLinearFisher}, for u = the normalised full-batch gradient at that
 * point (computed in double; it lies in range(F), so the undamped optimum -1/2 u^T F^+ u is finite), its
 * optimum, the value at the initial Q_0 = s I (what SGD "uses"), and the auxiliary loss FishLeg itself sees
 * (Gauss-Newton on its 40-input auxiliary batch). The statistics are taken before the step of that
 * iteration and are not counted in the wall time.
 *
 * <p>Outputs: {@code OUT/dln-NAME.csv} per optimizer, {@code IMG/dln-loss.png}, {@code IMG/dln-aux.png},
 * and a summary table (iterations to each loss target, final loss, wall time) on the log stream.
 */
public final class DeepLinearExperiment {

    private DeepLinearExperiment() {}

    /** Settings (mutable, with the defaults of the report). */
    public static final class Options {
        /** Training steps per optimizer. */
        public int iterations = 5000;
        /** Evaluate the test loss and diagnostics every this many steps. */
        public int evalEvery = 50;
        /** Seed of the teacher and its data. */
        long dataSeed = DeepLinearData.DEFAULT_SEED;
        /** Seed of the initial parameters. */
        long initSeed = 1;
        /** Optimizers to run, by {@link org.fishleg.optim.Optimizers} name. */
        public List<String> optimizers = new ArrayList<>(List.of("fishleg", "momentum", "adam"));
        /** Folder for the CSVs. */
        public Path outDir = Path.of("runs", "dln");
        /** Folder for the PNGs; null = outDir. */
        Path imgDir;
        /** Training-loss targets (mean NLL); null = {@link #DEFAULT_TARGETS}. */
        public double[] targets;
        /** FishLeg preset name. */
        public String fishLegPreset = "ocaml-dln";
        /** Diagnostic override of the preset's weight decay on lambda (null = the preset's). */
        Float fishLegAuxWeightDecay;
        /** Write PNG plots. */
        public boolean plots = true;
        /** Run the step-1 equivalence check (FishLeg without aux updates == SGD-momentum with lr eta s). */
        public boolean check = true;
        /** Backend: cpu, cuda or auto. */
        public String backend = "cpu";
        /** Untimed steps of each optimizer on a throw-away copy before the runs (JIT and BLAS warm-up). */
        int warmupSteps = 300;
        /** Seed study: when not null, one run per seed s (data seed = init seed = s, as the CLI's --seed). */
        public long[] seeds;
    }

    /** Default ladder of train-loss targets (mean NLL per example, 20 outputs, learned sigma). */
    static final double[] DEFAULT_TARGETS = {0, -40, -60, -80, -90, -100, -105, -109};

    /** Targets of the seed-study summary. */
    static final double[] SEED_TARGETS = {-80, -100, -105};

    /** The infimum of the training NLL: zero residual and sigma at its lower bound 1e-4. */
    static double nllFloor(int outputs, double sigmaMin) {
        return outputs * (Math.log(sigmaMin) + 0.5 * Math.log(2 * Math.PI));
    }

    /** One optimizer's run. */
    public static final class Run {
        /** Optimizer name. */
        public final String name;
        /** Optimizer settings, one line. */
        public final String description;
        /** Training loss before step t, t = 0 .. done-1 (full batch). */
        public double[] loss;
        /** Cumulative training wall time (s) after step t (statistics excluded). */
        public double[] wall;
        /** Entries of {@link #loss} and {@link #wall} filled so far. */
        public int done;
        /** Evaluation rows: iteration, test loss, sigma, auxiliary losses (exact, optimum, at Q_0, on the batch). */
        final List<double[]> evals = new ArrayList<>(); // iteration, test, sigma, auxExact, auxOpt, auxQ0, auxBatch
        /** Training wall time (s), diagnostics excluded. */
        double trainSeconds;
        /** Wall time (s) of the diagnostics. */
        double diagnosticSeconds;
        /** True when the loss became non-finite. */
        public boolean diverged;
        /** Free-text note for the report. */
        String note = "";

        Run(String name, String description, int iterations) {
            this.name = name;
            this.description = description;
            this.loss = new double[iterations + 1];
            this.wall = new double[iterations + 1];
        }

        /** First iteration whose training loss is &lt;= target, or -1. */
        int iterationsTo(double target) {
            for (int t = 0; t < done; t++) if (loss[t] <= target) return t;
            return -1;
        }

        /** The last recorded training loss, NaN when none. */
        double finalLoss() { return done == 0 ? Double.NaN : loss[done - 1]; }

        /** The iteration whose loss was non-finite, or -1. */
        int divergedAt() { return diverged ? done - 1 : -1; }

        /** Training seconds per iteration. */
        double secondsPerIteration() { return done == 0 ? Double.NaN : trainSeconds / done; }

        /** Lowest finite training loss. */
        double minLoss() {
            double m = Double.POSITIVE_INFINITY;
            for (int t = 0; t < done; t++) if (Double.isFinite(loss[t])) m = Math.min(m, loss[t]);
            return m;
        }

        double[] column(int k) {
            double[] c = new double[evals.size()];
            for (int i = 0; i < c.length; i++) c[i] = evals.get(i)[k];
            return c;
        }
    }

    /** Everything a run produced. */
    public static final class Result {
        /** The runs, in optimizer order. */
        public final List<Run> runs = new ArrayList<>();
        /** Training-loss targets of the summary table. */
        public double[] targets;
        /** One line describing the machine. */
        public String machine;
        /** Outcome of the step-1 equivalence check. */
        String checkLine = "";
        /** FishLeg's s (Q_0 = s I) in this run. */
        double fishLegInitScale = Double.NaN;

        /** The run of the named optimizer, or null. */
        public Run run(String name) {
            for (Run r : runs) if (r.name.equals(name)) return r;
            return null;
        }

        /**
         * Markdown table: iterations (and training seconds) to reach each target, final and best loss,
         * test loss and sigma at the end, wall time.
         */
        public String table() {
            StringBuilder b = new StringBuilder("| optimizer |");
            for (double t : targets) b.append(String.format(Locale.ROOT, " NLL <= %s |", fmtTarget(t)));
            b.append(" final NLL | best NLL | final test NLL | final sigma | wall (s) |\n|---|");
            for (int i = 0; i < targets.length; i++) b.append("---:|");
            b.append("---:|---:|---:|---:|---:|\n");
            for (Run r : runs) {
                b.append("| ").append(r.name).append(" |");
                for (double t : targets) {
                    int it = r.iterationsTo(t);
                    b.append(' ').append(it < 0 ? "-" : String.format(Locale.ROOT, "%d (%.1f s)", it, it == 0 ? 0 : r.wall[it - 1]))
                            .append(" |");
                }
                double[] last = r.evals.isEmpty() || r.diverged ? null : r.evals.get(r.evals.size() - 1);
                b.append(r.diverged ? " diverged at " + r.divergedAt() + " |" : String.format(Locale.ROOT, " %.2f |", r.finalLoss()));
                b.append(String.format(Locale.ROOT, " %.2f | %s | %s | %.1f |\n", r.minLoss(),
                        last == null ? "-" : String.format(Locale.ROOT, "%.2f", last[1]),
                        last == null ? "-" : String.format(Locale.ROOT, "%.3g", last[2]), r.trainSeconds));
            }
            return b.toString();
        }
    }

    static String fmtTarget(double t) {
        return t == Math.rint(t) ? Long.toString((long) t) : Double.toString(t);
    }

    // ------------------------------------------------------------------ running

    /** Runs the experiment on the given backend; progress lines go to {@code log}. */
    public static Result run(Options o, Backend backend, PrintStream log) {
        DeepLinearData data = DeepLinearData.standard(o.dataSeed);
        Models.Named named = Models.get("dln");
        Result result = new Result();
        result.targets = o.targets != null ? o.targets : DEFAULT_TARGETS;
        result.machine = backend.description();
        result.fishLegInitScale = fishLegConfig(o).initScale;
        log.println("data: " + data);
        log.println("model: " + named.description + ", init seed " + o.initSeed + "; " + o.iterations + " iterations, stats every "
                + o.evalEvery + "; backend " + backend.name() + " (" + backend.description() + ")");
        try (Tensor x = backend.upload(data.xTrain(), data.trainSize(), data.width());
             Tensor y = backend.upload(data.yTrain(), data.trainSize(), data.width());
             Tensor xt = backend.upload(data.xTest(), data.testSize(), data.width());
             Tensor yt = backend.upload(data.yTest(), data.testSize(), data.width());
             Tensor lossT = backend.zeros(1, 1)) {
            if (o.check) {
                result.checkLine = equivalenceCheck(backend, named, x, y, o, 20);
                log.println(result.checkLine);
            }
            float[] xs = data.xTrain(), ys = data.yTrain();
            AuxBatchSource aux = dst -> backend.copy(x, dst); // aux batch = all 40 training inputs
            if (o.warmupSteps > 0) {
                for (String name : o.optimizers) {
                    try (Mlp model = new Mlp(backend, named.spec, named.likelihood); Optimizer opt = create(name, model, o, aux)) {
                        model.init(o.initSeed + 1);
                        for (int i = 0; i < o.warmupSteps; i++) opt.step(model, x, y, lossT);
                        backend.readScalar(lossT);
                    }
                }
            }
            for (String name : o.optimizers) {
                try (Mlp model = new Mlp(backend, named.spec, named.likelihood)) {
                    model.init(o.initSeed);
                    try (Optimizer opt = create(name, model, o, aux)) {
                        Run r = new Run(name, opt.describe(), o.iterations);
                        log.println("== " + opt.describe());
                        train(model, opt, r, o, backend, x, y, xt, yt, lossT, xs, ys, data.trainSize(), log);
                        result.runs.add(r);
                    }
                }
            }
        }
        return result;
    }

    /** Builds optimizer NAME or NAME@LR for the model as the CLI would (Optimizers.create, model name "dln"). */
    static Optimizer create(String name, Mlp model, Options o, AuxBatchSource aux) {
        Optimizers.Options oo = new Optimizers.Options().modelName("dln");
        String base = name;
        int at = name.indexOf('@');
        if (at >= 0) {
            base = name.substring(0, at);
            oo.lr(Float.parseFloat(name.substring(at + 1)));
        }
        if (base.startsWith("fishleg")) oo.fishLeg(fishLegConfig(o));
        return Optimizers.create(base, model, oo, aux);
    }

    /** The FishLeg configuration of a run: the preset, with the diagnostic override if any. */
    public static FishLegConfig fishLegConfig(Options o) {
        FishLegConfig c = FishLegConfig.preset(o.fishLegPreset);
        if (o.fishLegAuxWeightDecay != null) c = c.toBuilder().auxWeightDecay(o.fishLegAuxWeightDecay).build();
        return c;
    }

    private static void train(Mlp model, Optimizer opt, Run r, Options o, Backend backend, Tensor x, Tensor y, Tensor xt,
                              Tensor yt, Tensor lossT, float[] xs, float[] ys, int n, PrintStream log) {
        FishLeg fl = opt instanceof FishLeg ? (FishLeg) opt : null;
        Tensor uT = fl != null ? backend.zeros(1, model.paramCount()) : null;
        try {
            long trainNanos = 0;
            for (int t = 0; t <= o.iterations; t++) {
                boolean evalNow = t % o.evalEvery == 0 || t == o.iterations;
                if (evalNow) {
                    long d0 = System.nanoTime();
                    r.evals.add(stats(model, fl, uT, backend, x, xt, yt, lossT, xs, ys, n, t));
                    r.diagnosticSeconds += (System.nanoTime() - d0) * 1e-9;
                    double[] e = r.evals.get(r.evals.size() - 1);
                    if (t % (o.evalEvery * 20) == 0 || t == o.iterations)
                        log.printf(Locale.ROOT, "%s it %6d  train %.4f  test %.4f  sigma %.3g%s  (%.1fs)%n", r.name, t,
                                t == 0 ? Double.NaN : r.loss[t - 1], e[1], e[2],
                                fl == null ? "" : String.format(Locale.ROOT, "  aux %.4g / opt %.4g (Q0 %.4g)", e[3], e[4], e[5]),
                                trainNanos * 1e-9);
                }
                if (t == o.iterations) break;
                long s0 = System.nanoTime();
                opt.step(model, x, y, lossT);
                double l = backend.readScalar(lossT);
                trainNanos += System.nanoTime() - s0;
                r.loss[t] = l;
                r.wall[t] = trainNanos * 1e-9;
                r.done = t + 1;
                if (!Double.isFinite(l)) {
                    r.diverged = true;
                    r.note = "non-finite loss at iteration " + t;
                    log.println(r.name + ": " + r.note + ", stopped");
                    break;
                }
            }
            r.trainSeconds = trainNanos * 1e-9;
        } finally {
            if (uT != null) uT.close();
        }
    }

    /**
     * [iteration, test NLL, sigma, aux exact, aux optimum, aux at Q0, aux on FishLeg's batch, |g|, u^T Q u,
     * max |lambda|]; the aux entries are NaN for first-order optimizers.
     */
    private static double[] stats(Mlp model, FishLeg fl, Tensor uT, Backend backend, Tensor x, Tensor xt, Tensor yt,
                                  Tensor lossT, float[] xs, float[] ys, int n, int t) {
        model.loss(xt, yt, lossT);
        double test = backend.readScalar(lossT);
        float[] p = backend.download(model.params());
        double sigma = p[p.length - 1];
        double auxExact = Double.NaN, auxOpt = Double.NaN, auxQ0 = Double.NaN, auxBatch = Double.NaN, gnorm = Double.NaN;
        double uqu = Double.NaN, lamMax = Double.NaN;
        if (fl != null && allFinite(p)) {
            DeepLinearFisher f = DeepLinearFisher.of(model, p);
            DeepLinearFisher.Gradient g = f.gradient(xs, ys, n);
            gnorm = g.norm();
            double[] u = g.unit();
            double gamma = fl.config().damping;
            double[] z = f.applyQ(fl, u);
            double[] ur = DeepLinearFisher.roundToFloat(u);
            auxExact = f.auxLoss(z, ur, fl.config().damping);
            uqu = DeepLinearFisher.dot(ur, z);
            lamMax = 0;
            for (float v : backend.download(fl.lambda())) lamMax = Math.max(lamMax, Math.abs(v));
            auxOpt = f.auxOptimum(u, gamma);
            double s = fl.config().initScale;
            double[] z0 = u.clone();
            for (int i = 0; i < z0.length; i++) z0[i] *= s;
            auxQ0 = f.auxLoss(z0, u, gamma);
            float[] uf = new float[u.length];
            for (int i = 0; i < u.length; i++) uf[i] = (float) u[i];
            backend.upload(uf, uT);
            auxBatch = fl.auxiliaryLoss(x, uT);
        }
        return new double[] {t, test, sigma, auxExact, auxOpt, auxQ0, auxBatch, gnorm, uqu, lamMax};
    }

    private static boolean allFinite(float[] p) {
        for (float v : p) if (!Float.isFinite(v)) return false;
        return true;
    }

    /**
     * FishLeg with its auxiliary updates switched off keeps Q = s I, so (momentum on Q g, EMA form) it must
     * follow SGD-momentum with lr = eta s step for step; returns a line with the largest parameter difference
     * relative to the largest parameter change after {@code steps} steps.
     */
    static String equivalenceCheck(Backend backend, Models.Named named, Tensor x, Tensor y, Options o, int steps) {
        FishLegConfig cfg = FishLegConfig.preset(o.fishLegPreset);
        double[] d = equivalenceDiff(backend, named.spec, named.likelihood, cfg, o.initSeed, x, y, steps);
        return String.format(Locale.ROOT, "check: FishLeg (aux off, Q = %g I) vs SGD-momentum (lr %g = eta s, mu %g, ema) after %d"
                + " steps: max |diff| %.3g = %.3g of the largest parameter change %.3g", cfg.initScale, cfg.lr * cfg.initScale,
                cfg.beta, steps, d[0], d[1] == 0 ? 0 : d[0] / d[1], d[1]);
    }

    /**
     * Runs FishLeg({@code cfg} with aux lr 0) and SGD-momentum(lr eta s, mu beta, EMA) from the same
     * initialisation on (x, y); returns {max |p_fishleg - p_sgd|, max |p_sgd - p_0|}.
     */
    static double[] equivalenceDiff(Backend backend, org.fishleg.nn.MlpSpec spec, org.fishleg.nn.Likelihood lik,
                                           FishLegConfig cfg, long initSeed, Tensor x, Tensor y, int steps) {
        FishLegConfig off = cfg.toBuilder().auxLr(0f).build();
        float lr = off.lr * off.initScale;
        try (Mlp a = new Mlp(backend, spec, lik); Mlp b = new Mlp(backend, spec, lik); Tensor l = backend.zeros(1, 1)) {
            a.init(initSeed);
            b.init(initSeed);
            float[] p0 = backend.download(a.params());
            try (FishLeg fl = new FishLeg(a, off, dst -> backend.fill(dst, 0f));
                 SgdMomentum sgd = new SgdMomentum(b, lr, off.beta, SgdMomentum.Form.EMA, false, 0f)) {
                for (int i = 0; i < steps; i++) {
                    fl.step(a, x, y, l);
                    sgd.step(b, x, y, l);
                }
            }
            float[] pa = backend.download(a.params()), pb = backend.download(b.params());
            double diff = 0, move = 0;
            for (int i = 0; i < pa.length; i++) {
                diff = Math.max(diff, Math.abs(pa[i] - pb[i]));
                move = Math.max(move, Math.abs(pb[i] - p0[i]));
            }
            return new double[] {diff, move};
        }
    }

    // ------------------------------------------------------------------ output

    /** Writes one CSV per run: iteration, train_loss, then the statistics where taken (blank elsewhere). */
    static void writeCsv(Result res, Path dir) throws IOException {
        Files.createDirectories(dir);
        for (Run r : res.runs) {
            Path f = dir.resolve("dln-" + r.name + ".csv");
            try (Writer w = Files.newBufferedWriter(f, StandardCharsets.UTF_8)) {
                w.write("# " + r.description + "\n");
                w.write("iteration,train_loss,test_loss,sigma,aux_exact,aux_optimum,aux_at_q0,aux_fishleg_batch,grad_norm,u_q_u,lambda_max_abs\n");
                int e = 0;
                for (int t = 0; t <= r.done; t++) {
                    StringBuilder b = new StringBuilder().append(t).append(',');
                    if (t < r.done) b.append(num(r.loss[t]));
                    double[] ev = null;
                    while (e < r.evals.size() && r.evals.get(e)[0] < t) e++;
                    if (e < r.evals.size() && r.evals.get(e)[0] == t) ev = r.evals.get(e);
                    for (int k = 1; k <= 9; k++) b.append(',').append(ev == null ? "" : num(ev[k]));
                    w.write(b.append('\n').toString());
                }
            }
        }
    }

    private static String num(double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, "%.8g", v) : (Double.isNaN(v) ? "" : Double.toString(v)); }

    /** dln-loss.png (train NLL above its floor, log y; and the test NLL) and dln-aux.png (FishLeg's exact aux loss). */
    static void writePlots(Result res, Path dir) {
        double floor = nllFloor(20, 1e-4);
        LinePlot.Panel train = new LinePlot.Panel("Deep linear network 19 x (20x20): training loss, full batch (40)",
                "iteration", String.format(Locale.ROOT, "train NLL - (%.2f)  [log]", floor), true);
        LinePlot.Panel test = new LinePlot.Panel("held-out test loss (1000 inputs)", "iteration",
                String.format(Locale.ROOT, "test NLL - (%.2f)  [log]", floor), true);
        int ci = 0;
        for (Run r : res.runs) {
            double[] it = new double[r.done], l = new double[r.done];
            for (int t = 0; t < r.done; t++) { it[t] = t; l[t] = r.loss[t] - floor; }
            train.add(new LinePlot.Series(r.name, ci, false, thin(it, 4000), thin(l, 4000)));
            double[] te = r.column(1);
            for (int i = 0; i < te.length; i++) te[i] -= floor;
            test.add(new LinePlot.Series(r.name, ci, false, r.column(0), te));
            ci++;
        }
        train.yRange(null, 1e4); // divergence spikes would squash the curves
        test.yRange(null, 1e4);
        new LinePlot(1000, 520).add(train).add(test).write(dir.resolve("dln-loss.png"));

        Run f = null;
        for (Run r : res.runs) if (r.name.startsWith("fishleg")) { f = r; break; }
        if (f == null) return;
        double[] it = f.column(0), ex = f.column(3), op = f.column(4), q0 = f.column(5), uqu = f.column(8);
        int m = it.length;
        if (f.diverged) { // leave out the statistics taken on the blown-up parameters just before the non-finite loss
            while (m > 0 && it[m - 1] >= f.divergedAt() - 10) m--;
            it = Arrays.copyOf(it, m); ex = Arrays.copyOf(ex, m); op = Arrays.copyOf(op, m);
            q0 = Arrays.copyOf(q0, m); uqu = Arrays.copyOf(uqu, m);
        }
        double[] gap = new double[m], gap0 = new double[m], absOpt = new double[m], ratio = new double[m], optQ = new double[m];
        double[] s = new double[m];
        double scale = fishLegInitScale(res);
        for (int i = 0; i < m; i++) {
            gap[i] = ex[i] - op[i];
            gap0[i] = q0[i] - op[i];
            absOpt[i] = -op[i];
            ratio[i] = ex[i] / op[i];
            optQ[i] = -2 * op[i];
            s[i] = scale;
        }
        LinePlot.Panel a = new LinePlot.Panel("FishLeg: excess auxiliary loss A(lambda; u) - A*, u = g/|g|, exact population Fisher"
                + (f.diverged ? "; diverged at it. " + f.divergedAt() : ""),
                "iteration", "A - A*  [log]", true)
                .add(new LinePlot.Series("FishLeg Q(lambda)", 0, false, it, gap))
                .add(new LinePlot.Series("Q0 = s I (no aux learning, = SGD-momentum lr eta s)", 1, false, it, gap0))
                .add(new LinePlot.Series("|A*| (A < 0 below this line)", 6, true, it, absOpt));
        LinePlot.Panel b = new LinePlot.Panel("scale of Q along u: u'Q u against the optimal u'F+u", "iteration",
                "[log]", true)
                .add(new LinePlot.Series("FishLeg u'Q(lambda)u", 0, false, it, uqu))
                .add(new LinePlot.Series("optimal u'F+u = -2 A*", 6, true, it, optQ))
                .add(new LinePlot.Series("Q0: u'(sI)u = s", 1, false, it, s));
        LinePlot.Panel c = new LinePlot.Panel("fraction of the optimal auxiliary-loss reduction reached, A / A* (clipped to [-1, 1])",
                "iteration", "A / A*  (1 = optimal)", false)
                .add(new LinePlot.Series("FishLeg A / A*", 0, false, it, ratio)).yRange(-1.0, 1.0);
        new LinePlot(1000, 420).add(a.yRange(null, 1e8)).add(b).add(c).write(dir.resolve("dln-aux.png"));
    }

    private static double fishLegInitScale(Result res) { return res.fishLegInitScale; }

    private static double[] thin(double[] v, int max) {
        if (v.length <= max) return v;
        int stride = (v.length + max - 1) / max;
        double[] o = new double[(v.length + stride - 1) / stride];
        for (int i = 0, k = 0; i < v.length; i += stride, k++) o[k] = v[i];
        return o;
    }

    // ------------------------------------------------------------------ command line

    static final String USAGE = String.join("\n",
            "usage: java -cp CLASSPATH org.fishleg.experiments.DeepLinearExperiment [options]",
            "  --iterations N      training iterations per optimizer (default 5000; the authors ran 50000)",
            "  --eval-every K      statistics (test loss, sigma, exact FishLeg aux loss) every K iterations (default 50)",
            "  --optimizers LIST   comma-separated, from fishleg, fishleg-qg, momentum, adam, sgd, adamw, each optionally NAME@LR",
            "                      to override the authors' learning rate (default fishleg,momentum,adam)",
            "  --data-seed S       teacher/data seed (default 1, as the CLI's --seed)",
            "  --init-seed S       student initialisation seed, shared by all optimizers (default 1)",
            "  --targets LIST      comma-separated train-NLL targets (default " + Arrays.toString(DEFAULT_TARGETS) + ")",
            "  --preset NAME       FishLeg preset (default ocaml-dln)",
            "  --fishleg-aux-wd X  diagnostic: override the preset's weight decay on lambda",
            "  --out DIR           CSV folder (default runs/dln)",
            "  --img DIR           PNG folder (default: the CSV folder)",
            "  --backend B         cpu, cuda or auto (default cpu)",
            "  --warmup N          untimed warm-up steps per optimizer before the runs (default 300)",
            "  --seeds LIST        seed study: e.g. 1-8 or 1,3,5; one run per seed with data seed = init seed = s,",
            "                      CSVs in OUT/seed-S, a summary table per seed and optimizer, no plots",
            "  --no-plots, --no-check");

    /** Parses the command line described by the usage text. */
    public static Options parse(String[] args) {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--iterations": o.iterations = Integer.parseInt(val(args, ++i, a)); break;
                case "--eval-every": o.evalEvery = Integer.parseInt(val(args, ++i, a)); break;
                case "--optimizers": o.optimizers = new ArrayList<>(Arrays.asList(val(args, ++i, a).split(","))); break;
                case "--data-seed": o.dataSeed = Long.decode(val(args, ++i, a)); break;
                case "--init-seed": o.initSeed = Long.decode(val(args, ++i, a)); break;
                case "--targets":
                    o.targets = Arrays.stream(val(args, ++i, a).split(",")).mapToDouble(Double::parseDouble).toArray();
                    break;
                case "--preset": o.fishLegPreset = val(args, ++i, a); break;
                case "--fishleg-aux-wd": o.fishLegAuxWeightDecay = Float.parseFloat(val(args, ++i, a)); break;
                case "--out": o.outDir = Path.of(val(args, ++i, a)); break;
                case "--img": o.imgDir = Path.of(val(args, ++i, a)); break;
                case "--backend": o.backend = val(args, ++i, a); break;
                case "--no-plots": o.plots = false; break;
                case "--no-check": o.check = false; break;
                case "--warmup": o.warmupSteps = Integer.parseInt(val(args, ++i, a)); break;
                case "--seeds": o.seeds = parseSeeds(val(args, ++i, a)); break;
                case "-h": case "--help": System.out.println(USAGE); System.exit(0); break;
                default: throw new IllegalArgumentException("unknown option '" + a + "'\n" + USAGE);
            }
        }
        if (o.iterations < 1 || o.evalEvery < 1) throw new IllegalArgumentException("--iterations and --eval-every must be >= 1");
        for (int k = 0; k < o.optimizers.size(); k++) {
            String spec = o.optimizers.get(k).trim();
            int at = spec.indexOf('@');
            String base = Optimizers.canonicalName(at < 0 ? spec : spec.substring(0, at));
            if (at >= 0) {
                float lr = Float.parseFloat(spec.substring(at + 1));
                if (!(lr > 0)) throw new IllegalArgumentException("learning rate in '" + spec + "' must be > 0");
                o.optimizers.set(k, base + "@" + spec.substring(at + 1));
            } else {
                o.optimizers.set(k, base);
            }
        }
        return o;
    }

    static long[] parseSeeds(String s) {
        List<Long> out = new ArrayList<>();
        for (String part : s.split(",")) {
            int dash = part.indexOf('-', 1);
            if (dash > 0) {
                long a = Long.parseLong(part.substring(0, dash).trim()), b = Long.parseLong(part.substring(dash + 1).trim());
                if (b < a || b - a > 10_000) throw new IllegalArgumentException("bad seed range '" + part + "'");
                for (long v = a; v <= b; v++) out.add(v);
            } else {
                out.add(Long.parseLong(part.trim()));
            }
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** Markdown summary of a seed study: one row per seed and optimizer, then one line per optimizer. */
    static String seedTable(long[] seeds, List<Result> results, double[] targets) {
        StringBuilder b = new StringBuilder("| seed | optimizer | diverged at |");
        for (double t : targets) b.append(" it. to NLL <= ").append(fmtTarget(t)).append(" |");
        b.append(" best train NLL | final train NLL | final test NLL |\n|---:|---|---:|");
        for (int i = 0; i < targets.length; i++) b.append("---:|");
        b.append("---:|---:|---:|\n");
        java.util.Map<String, int[]> diverged = new java.util.LinkedHashMap<>();
        java.util.Map<String, List<Double>> best = new java.util.LinkedHashMap<>();
        java.util.Map<String, List<List<Integer>>> reach = new java.util.LinkedHashMap<>();
        for (int k = 0; k < seeds.length; k++) {
            for (Run r : results.get(k).runs) {
                diverged.computeIfAbsent(r.name, x -> new int[2]);
                diverged.get(r.name)[1]++;
                if (r.diverged) diverged.get(r.name)[0]++;
                best.computeIfAbsent(r.name, x -> new ArrayList<>()).add(r.minLoss());
                List<List<Integer>> rl = reach.computeIfAbsent(r.name, x -> {
                    List<List<Integer>> l = new ArrayList<>();
                    for (int i = 0; i < targets.length; i++) l.add(new ArrayList<>());
                    return l;
                });
                b.append("| ").append(seeds[k]).append(" | ").append(r.name).append(" | ")
                        .append(r.diverged ? Integer.toString(r.divergedAt()) : "-").append(" |");
                for (int i = 0; i < targets.length; i++) {
                    int it = r.iterationsTo(targets[i]);
                    if (it >= 0) rl.get(i).add(it);
                    b.append(' ').append(it < 0 ? "-" : Integer.toString(it)).append(" |");
                }
                double[] last = r.evals.isEmpty() || r.diverged ? null : r.evals.get(r.evals.size() - 1);
                b.append(String.format(Locale.ROOT, " %.2f | %s | %s |\n", r.minLoss(),
                        r.diverged ? "-" : String.format(Locale.ROOT, "%.2f", r.finalLoss()),
                        last == null ? "-" : String.format(Locale.ROOT, "%.2f", last[1])));
            }
        }
        b.append("\n| optimizer | runs diverged |");
        for (double t : targets) b.append(" reached NLL <= ").append(fmtTarget(t)).append(" (median it.) |");
        b.append(" median best NLL |\n|---|---:|");
        for (int i = 0; i < targets.length; i++) b.append("---:|");
        b.append("---:|\n");
        for (String name : diverged.keySet()) {
            int[] d = diverged.get(name);
            b.append("| ").append(name).append(" | ").append(d[0]).append(" / ").append(d[1]).append(" |");
            for (int i = 0; i < targets.length; i++) {
                List<Integer> l = reach.get(name).get(i);
                b.append(' ').append(l.size()).append(" / ").append(d[1]);
                if (!l.isEmpty()) b.append(" (").append((long) median(l.stream().mapToDouble(Integer::doubleValue).toArray())).append(')');
                b.append(" |");
            }
            b.append(String.format(Locale.ROOT, " %.2f |\n", median(best.get(name).stream().mapToDouble(Double::doubleValue).toArray())));
        }
        return b.toString();
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        if (n == 0) return Double.NaN;
        return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    }

    private static String val(String[] args, int i, String opt) {
        if (i >= args.length) throw new IllegalArgumentException(opt + " needs a value\n" + USAGE);
        return args[i];
    }

    /** Runs the experiment (see the usage text): CSVs, plots and a summary table. */
    public static void main(String[] args) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        try (Backend backend = Backends.open(o.backend, System.out::println)) {
            long t0 = System.nanoTime();
            if (o.seeds != null) {
                List<Result> results = new ArrayList<>();
                Path base = o.outDir;
                for (long s : o.seeds) {
                    o.dataSeed = s;
                    o.initSeed = s;
                    Result r = run(o, backend, System.out);
                    writeCsv(r, base.resolve("seed-" + s));
                    System.out.print(r.table());
                    results.add(r);
                }
                double[] targets = o.targets != null ? o.targets : SEED_TARGETS;
                System.out.println();
                System.out.print(seedTable(o.seeds, results, targets));
                System.out.printf(Locale.ROOT, "total %.1f s; CSV in %s/seed-*%n", (System.nanoTime() - t0) * 1e-9, base);
                return;
            }
            Result r = run(o, backend, System.out);
            writeCsv(r, o.outDir);
            if (o.plots) writePlots(r, o.imgDir != null ? o.imgDir : o.outDir);
            System.out.println();
            System.out.print(r.table());
            for (Run run : r.runs)
                if (run.diverged) System.out.println(run.name + ": " + run.note);
            System.out.printf(Locale.ROOT, "total %.1f s; CSV in %s%n", (System.nanoTime() - t0) * 1e-9, o.outDir);
        }
    }
}
