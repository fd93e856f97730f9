package org.fishleg.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.fishleg.plot.MetricsCsv;

/**
 * The numbers of a benchmark suite's summary table, computed from the runs' metrics CSVs (as written by the trainer
 * with the training-set evaluation on: train_set_loss and eval_seconds columns). Per optimizer, over its seeds:
 * final train NLL (whole training set) and final test NLL (mean, and min-max when more than one seed), the best
 * test NLL of the mean-over-seeds curve and its epoch, training milliseconds per step (wall time minus evaluation
 * time), training seconds until the test NLL first reaches each target, and the total run time.
 *
 * <p>Training seconds at a row are wall_seconds - eval_seconds; a file without eval_seconds counts its wall time.
 */
public final class SuiteSummary {
    private SuiteSummary() {}

    /** One run: an optimizer, a seed and its metrics; {@code diverged} when the trainer stopped it (a non-finite loss, or one past its divergence limit). */
    public record Run(String optimizer, long seed, MetricsCsv metrics, boolean diverged) {}

    /** Mean, min and max of some numbers (NaN when there are none). */
    public record Stat(double mean, double min, double max, int n) {
        /** Of the finite values. */
        public static Stat of(double... values) {
            double s = 0, lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
            int n = 0;
            for (double v : values) {
                if (!Double.isFinite(v)) continue;
                s += v;
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
                n++;
            }
            return n == 0 ? new Stat(Double.NaN, Double.NaN, Double.NaN, 0) : new Stat(s / n, lo, hi, n);
        }

        /** "57.60", or "57.60 (57.10-58.20)" over more than one value, "-" when none; {@code digits} decimals. */
        public String format(int digits) {
            if (n == 0) return "-";
            String f = "%." + digits + "f";
            String m = String.format(Locale.ROOT, f, mean);
            return n > 1 ? m + String.format(Locale.ROOT, " (" + f + " to " + f + ")", min, max) : m;
        }
    }

    /** A curve: x and y of equal length. */
    public record Curve(double[] x, double[] y) {
        /** Number of points. */
        public int size() { return x.length; }
    }

    /** One table row. */
    public record Row(String optimizer, List<Long> seeds, List<Long> diverged, Stat finalTrain, Stat finalTest,
                      double bestTest, double bestEpoch, Stat msPerStep, double[] targets, Stat[] secondsToTarget,
                      double totalSeconds) {}

    /** Training seconds (wall minus evaluation) at row {@code i}. */
    static double trainingSeconds(MetricsCsv m, int i) {
        double e = m.evalSeconds[i];
        return m.wall[i] - (Double.isFinite(e) ? e : 0);
    }

    /** Indices of the evaluation rows (finite test loss). */
    static int[] evalRows(MetricsCsv m) {
        List<Integer> r = new ArrayList<>();
        for (int i = 0; i < m.rows(); i++) if (Double.isFinite(m.test[i])) r.add(i);
        return r.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The test loss at the last row when it is an evaluation row of a run that did not diverge, else NaN. */
    static double finalTest(Run r) {
        MetricsCsv m = r.metrics;
        if (r.diverged || m.rows() == 0) return Double.NaN;
        return m.test[m.rows() - 1];
    }

    /** The training-set NLL at the last row (NaN when not evaluated there or diverged). */
    static double finalTrain(Run r) {
        MetricsCsv m = r.metrics;
        if (r.diverged || m.rows() == 0) return Double.NaN;
        return m.trainSet[m.rows() - 1];
    }

    /** Training milliseconds per step over the whole run (NaN without steps). */
    static double msPerStep(MetricsCsv m) {
        if (m.rows() == 0) return Double.NaN;
        int last = m.rows() - 1;
        return m.step[last] > 0 ? 1000 * trainingSeconds(m, last) / m.step[last] : Double.NaN;
    }

    /** Training seconds at the first evaluation with test loss &lt;= {@code target}, NaN when never. */
    static double secondsTo(MetricsCsv m, double target) {
        for (int i : evalRows(m)) if (m.test[i] <= target) return trainingSeconds(m, i);
        return Double.NaN;
    }

    /**
     * The test loss against epoch ({@code seconds} false) or training seconds, averaged over the runs point by point:
     * the k-th evaluation of every run (the runs of one optimizer share their evaluation epochs), as far as every run
     * has a k-th one.
     */
    public static Curve meanTestCurve(List<MetricsCsv> runs, boolean seconds) {
        if (runs.isEmpty()) return new Curve(new double[0], new double[0]);
        int n = Integer.MAX_VALUE;
        List<int[]> rows = new ArrayList<>();
        for (MetricsCsv m : runs) {
            int[] r = evalRows(m);
            rows.add(r);
            n = Math.min(n, r.length);
        }
        double[] x = new double[n], y = new double[n];
        for (int k = 0; k < n; k++) {
            for (int j = 0; j < runs.size(); j++) {
                MetricsCsv m = runs.get(j);
                int i = rows.get(j)[k];
                x[k] += (seconds ? trainingSeconds(m, i) : m.epoch[i]) / runs.size();
                y[k] += m.test[i] / runs.size();
            }
        }
        return new Curve(x, y);
    }

    /** The row of one optimizer's runs. */
    public static Row row(String optimizer, List<Run> runs, double[] targets) {
        List<Long> seeds = new ArrayList<>(), diverged = new ArrayList<>();
        List<MetricsCsv> ok = new ArrayList<>();
        double[] ft = new double[runs.size()], fr = new double[runs.size()], ms = new double[runs.size()];
        double total = 0;
        for (int j = 0; j < runs.size(); j++) {
            Run r = runs.get(j);
            seeds.add(r.seed);
            if (r.diverged) diverged.add(r.seed);
            else ok.add(r.metrics);
            ft[j] = finalTest(r);
            fr[j] = finalTrain(r);
            ms[j] = msPerStep(r.metrics);
            if (r.metrics.rows() > 0) total += r.metrics.wall[r.metrics.rows() - 1];
        }
        Curve c = meanTestCurve(ok, false);
        double best = Double.NaN, bestEpoch = Double.NaN;
        for (int k = 0; k < c.size(); k++) {
            if (Double.isFinite(c.y[k]) && !(c.y[k] >= best)) {
                best = c.y[k];
                bestEpoch = c.x[k];
            }
        }
        Stat[] to = new Stat[targets.length];
        for (int t = 0; t < targets.length; t++) {
            double[] s = new double[runs.size()];
            for (int j = 0; j < runs.size(); j++) s[j] = secondsTo(runs.get(j).metrics, targets[t]);
            to[t] = Stat.of(s);
        }
        return new Row(optimizer, seeds, diverged, Stat.of(fr), Stat.of(ft), best, bestEpoch, Stat.of(ms), targets, to, total);
    }

    /** A loss with two decimals, "-" for NaN. */
    static String loss(double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, "%.2f", v) : "-"; }

    /** A target's label: 80, 0.5, -25. */
    static String target(double t) {
        return t == Math.rint(t) ? String.format(Locale.ROOT, "%d", (long) t) : String.format(Locale.ROOT, "%s", t);
    }

    /** The markdown table of the rows (all with the same targets). */
    public static String table(List<Row> rows, String lossName) {
        double[] targets = rows.isEmpty() ? new double[0] : rows.get(0).targets;
        StringBuilder b = new StringBuilder();
        b.append("| optimizer | seeds | final train ").append(lossName).append(" | final test ").append(lossName)
                .append(" | best test ").append(lossName).append(" (epoch) | training ms/step |");
        for (double t : targets) b.append(" training s to test ").append(lossName).append(" <= ").append(target(t)).append(" |");
        b.append(" run time (s) |\n|---|---|---:|---:|---:|---:|");
        for (int i = 0; i < targets.length; i++) b.append("---:|");
        b.append("---:|\n");
        for (Row r : rows) {
            StringBuilder seeds = new StringBuilder();
            for (Long s : r.seeds) seeds.append(seeds.length() == 0 ? "" : ", ").append(s);
            if (!r.diverged.isEmpty()) seeds.append(" (diverged: ").append(join(r.diverged)).append(')');
            b.append("| ").append(r.optimizer).append(" | ").append(seeds).append(" | ").append(r.finalTrain.format(2))
                    .append(" | ").append(r.finalTest.format(2)).append(" | ");
            b.append(Double.isFinite(r.bestTest) ? loss(r.bestTest) + " (" + epoch(r.bestEpoch) + ")" : "-");
            b.append(" | ").append(r.msPerStep.format(1)).append(" |");
            for (Stat s : r.secondsToTarget) {
                b.append(' ').append(s.n == 0 ? "-" : String.format(Locale.ROOT, "%.1f", s.mean));
                if (s.n > 0 && s.n < r.seeds.size()) b.append(" (").append(s.n).append('/').append(r.seeds.size()).append(" seeds)");
                b.append(" |");
            }
            b.append(String.format(Locale.ROOT, " %.1f |%n", r.totalSeconds));
        }
        return b.toString();
    }

    private static String epoch(double e) {
        return e == Math.rint(e) ? Long.toString((long) e) : String.format(Locale.ROOT, "%.2f", e);
    }

    private static String join(List<Long> l) {
        StringBuilder b = new StringBuilder();
        for (Long v : l) b.append(b.length() == 0 ? "" : ", ").append(v);
        return b.toString();
    }
}
