package org.fishleg.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.geom.AffineTransform;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * Draws training and test loss curves of one or several metrics CSV files into a PNG with java.awt
 * (works headless: {@code -Djava.awt.headless=true}). Each file gets one colour; the training loss is a
 * solid line, the test loss a dashed line with dots. Axes with "nice" tick labels, optional log-scaled y,
 * legend by file name.
 */
public final class LossPlot {

    /** What the horizontal axis shows. */
    public enum XAxis {
        /** Training steps. */
        STEP("step"),
        /** Wall-clock seconds. */
        WALL("wall time (s)"),
        /** Epochs. */
        EPOCH("epoch");
        final String label;
        XAxis(String label) { this.label = label; }

        /** Parses step, wall or epoch. */
        public static XAxis parse(String s) {
            switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "step": case "steps": return STEP;
                case "wall": case "time": case "wall_seconds": return WALL;
                case "epoch": case "epochs": return EPOCH;
                default: throw new IllegalArgumentException("unknown x axis '" + s + "' (expected step, wall or epoch)");
            }
        }
    }

    /** Which columns are drawn. */
    public enum Metric {
        /** train_loss and test_loss (the NLL). */
        NLL,
        /** train_mse and test_mse (runs of a Gaussian likelihood write them). */
        MSE;

        /** Parses nll or mse. */
        public static Metric parse(String s) {
            switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "nll": case "loss": return NLL;
                case "mse": return MSE;
                default: throw new IllegalArgumentException("--metric must be nll or mse, got '" + s + "'");
            }
        }
    }

    private static final Color[] PALETTE = {
        new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e), new Color(0x9467bd),
        new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f), new Color(0xbcbd22), new Color(0x17becf)
    };

    private XAxis xAxis = XAxis.STEP;
    private boolean logY;
    private int width = 1000, height = 640;
    private String title = "loss";
    private boolean showTrain = true, showTest = true;
    private Metric metric = Metric.NLL;

    /** Sets the horizontal axis (default step). */
    public LossPlot xAxis(XAxis v) { xAxis = v; return this; }
    /** Log-scale vertical axis. */
    public LossPlot logY(boolean v) { logY = v; return this; }
    /** Image size in pixels (at least 200x150; default 1000x640). */
    public LossPlot size(int w, int h) {
        if (w < 200 || h < 150) throw new IllegalArgumentException("plot size " + w + "x" + h + " is too small (at least 200x150)");
        width = w; height = h; return this;
    }
    /** Plot title. */
    public LossPlot title(String v) { title = v; return this; }
    /** Which columns to draw (default the NLL). */
    public LossPlot metric(Metric v) { metric = v; return this; }
    /** Which loss series to draw. */
    public LossPlot series(boolean train, boolean test) { showTrain = train; showTest = test; return this; }

    /** One curve. */
    private static final class Series {
        final String label;
        final Color color;
        final boolean dashed;
        final double[] x, y;
        Series(String label, Color color, boolean dashed, double[] x, double[] y) {
            this.label = label; this.color = color; this.dashed = dashed; this.x = x; this.y = y;
        }
    }

    /** Reads the files and writes the PNG. */
    public void write(List<Path> csvFiles, Path png) {
        List<MetricsCsv> runs = new ArrayList<>();
        for (Path p : csvFiles) runs.add(MetricsCsv.read(p));
        BufferedImage img = render(runs);
        try {
            Path parent = png.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            if (!ImageIO.write(img, "png", png.toFile()))
                throw new IllegalStateException("no PNG writer available in this Java runtime");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot write plot " + png + ": " + e.getMessage());
        }
    }

    /** Labels of runs: file names without ".csv", made unique with the parent folder where needed. */
    static List<String> labels(List<MetricsCsv> runs) {
        List<String> out = new ArrayList<>();
        for (MetricsCsv r : runs) out.add(stem(r.file));
        for (int i = 0; i < out.size(); i++) {
            for (int j = i + 1; j < out.size(); j++) {
                if (out.get(i).equals(out.get(j))) {
                    Path pi = runs.get(i).file.toAbsolutePath().getParent(), pj = runs.get(j).file.toAbsolutePath().getParent();
                    if (pi != null && pi.getFileName() != null) out.set(i, pi.getFileName() + "/" + out.get(i));
                    if (pj != null && pj.getFileName() != null) out.set(j, pj.getFileName() + "/" + out.get(j));
                }
            }
        }
        return out;
    }

    private static String stem(Path p) {
        String n = p.getFileName().toString();
        return n.toLowerCase(Locale.ROOT).endsWith(".csv") ? n.substring(0, n.length() - 4) : n;
    }

    /** Draws the runs into an image. */
    public BufferedImage render(List<MetricsCsv> runs) {
        List<String> names = labels(runs);
        List<Series> series = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            MetricsCsv r = runs.get(i);
            double[] x = xAxis == XAxis.STEP ? r.step : xAxis == XAxis.WALL ? r.wall : r.epoch;
            Color c = PALETTE[i % PALETTE.length];
            if (metric == Metric.MSE && !r.hasMse)
                throw new IllegalArgumentException("metrics file " + r.file + " has no train_mse/test_mse columns "
                        + "(only runs of a Gaussian likelihood write them); plot its loss without --metric mse");
            String unit = metric == Metric.MSE ? " MSE" : "";
            if (showTrain) series.add(new Series(names.get(i) + ": train" + unit, c, false, x, metric == Metric.MSE ? r.trainMse : r.train));
            if (showTest) series.add(new Series(names.get(i) + ": test" + unit, c, true, x, metric == Metric.MSE ? r.testMse : r.test));
        }
        double xmin = Double.POSITIVE_INFINITY, xmax = Double.NEGATIVE_INFINITY;
        double ymin = Double.POSITIVE_INFINITY, ymax = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int k = 0; k < s.x.length; k++) {
                if (!usable(s.x[k], s.y[k])) continue;
                xmin = Math.min(xmin, s.x[k]); xmax = Math.max(xmax, s.x[k]);
                ymin = Math.min(ymin, s.y[k]); ymax = Math.max(ymax, s.y[k]);
            }
        }
        boolean empty = !(xmin <= xmax);
        if (empty) { xmin = 0; xmax = 1; ymin = logY ? 1 : 0; ymax = logY ? 10 : 1; }
        if (xmax == xmin) { xmax = xmin + 1; }
        if (ymax == ymin) {
            if (logY) { ymin /= 1.5; ymax *= 1.5; } else { double d = Math.max(Math.abs(ymin) * 0.1, 1e-6); ymin -= d; ymax += d; }
        }
        double[] xt = linearTicks(xmin, xmax, 7);
        double xpad = (xmax - xmin) * 0.015; // keep the dots at the ends inside the frame
        xmin -= xpad;
        xmax += xpad;
        double[] yt;
        double ylo, yhi;
        if (logY) {
            ylo = Math.log10(ymin); yhi = Math.log10(ymax);
            double pad = (yhi - ylo) * 0.04; ylo -= pad; yhi += pad;
            yt = logTicks(Math.pow(10, ylo), Math.pow(10, yhi));
        } else {
            double pad = (ymax - ymin) * 0.04;
            ylo = ymin - pad; yhi = ymax + pad;
            yt = linearTicks(ylo, yhi, 7);
        }

        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
            g.setFont(font);
            FontMetrics fm = g.getFontMetrics();
            int maxLabel = 0;
            for (double t : yt) maxLabel = Math.max(maxLabel, fm.stringWidth(tickLabel(t)));
            int left = 30 + maxLabel + 14, right = 24, top = 44, bottom = 58;
            int pw = width - left - right, ph = height - top - bottom;
            final double fxmin = xmin, fxmax = xmax, fylo = ylo, fyhi = yhi;
            java.util.function.DoubleUnaryOperator sx = v -> left + (v - fxmin) / (fxmax - fxmin) * pw;
            java.util.function.DoubleUnaryOperator sy = v -> {
                double t = logY ? Math.log10(v) : v;
                return top + ph - (t - fylo) / (fyhi - fylo) * ph;
            };
            // grid and ticks
            Stroke thin = new BasicStroke(1f);
            g.setStroke(thin);
            for (double t : xt) {
                if (t < xmin - 1e-9 * Math.abs(xmax - xmin) || t > xmax + 1e-9 * Math.abs(xmax - xmin)) continue;
                int px = (int) Math.round(sx.applyAsDouble(t));
                g.setColor(new Color(0xE6E6E6));
                g.drawLine(px, top, px, top + ph);
                g.setColor(Color.DARK_GRAY);
                g.drawLine(px, top + ph, px, top + ph + 5);
                String s = tickLabel(t);
                g.drawString(s, px - fm.stringWidth(s) / 2, top + ph + 8 + fm.getAscent());
            }
            for (double t : yt) {
                double tv = logY ? Math.log10(t) : t;
                if (tv < ylo || tv > yhi) continue;
                int py = (int) Math.round(sy.applyAsDouble(t));
                g.setColor(new Color(0xE6E6E6));
                g.drawLine(left, py, left + pw, py);
                g.setColor(Color.DARK_GRAY);
                g.drawLine(left - 5, py, left, py);
                String s = tickLabel(t);
                g.drawString(s, left - 8 - fm.stringWidth(s), py + fm.getAscent() / 2 - 1);
            }
            g.setColor(Color.BLACK);
            g.drawRect(left, top, pw, ph);
            // axis labels and title
            String xl = xAxis.label;
            g.drawString(xl, left + pw / 2 - fm.stringWidth(xl) / 2, height - 14);
            String yl = logY ? "loss (mean NLL, log scale)" : "loss (mean NLL)";
            AffineTransform saved = g.getTransform();
            g.rotate(-Math.PI / 2);
            g.drawString(yl, -(top + ph / 2) - fm.stringWidth(yl) / 2, 18);
            g.setTransform(saved);
            Font tf = font.deriveFont(Font.BOLD, 15f);
            g.setFont(tf);
            FontMetrics tfm = g.getFontMetrics();
            g.drawString(title, width / 2 - tfm.stringWidth(title) / 2, 26);
            g.setFont(font);
            // curves, clipped to the plot area
            g.setClip(left + 1, top + 1, pw - 1, ph - 1);
            for (Series s : series) {
                g.setColor(s.color);
                g.setStroke(s.dashed
                        ? new BasicStroke(1.8f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[] {7f, 5f}, 0f)
                        : new BasicStroke(1.8f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
                Path2D.Double path = new Path2D.Double();
                boolean pen = false;
                for (int k = 0; k < s.x.length; k++) {
                    if (!usable(s.x[k], s.y[k])) continue; // test loss: only evaluation rows; gaps are bridged
                    double px = sx.applyAsDouble(s.x[k]), py = sy.applyAsDouble(s.y[k]);
                    if (!pen) { path.moveTo(px, py); pen = true; } else path.lineTo(px, py);
                }
                g.draw(path);
                if (s.dashed) {
                    for (int k = 0; k < s.x.length; k++) {
                        if (!usable(s.x[k], s.y[k])) continue;
                        double px = sx.applyAsDouble(s.x[k]), py = sy.applyAsDouble(s.y[k]);
                        g.fillOval((int) Math.round(px) - 3, (int) Math.round(py) - 3, 7, 7);
                    }
                }
            }
            g.setClip(null);
            // legend
            if (!series.isEmpty()) {
                int lw = 0;
                for (Series s : series) lw = Math.max(lw, fm.stringWidth(s.label));
                int rowH = fm.getHeight() + 2;
                int boxW = lw + 52, boxH = rowH * series.size() + 10;
                int bx = left + pw - boxW - 10, by = top + 10;
                g.setColor(new Color(255, 255, 255, 230));
                g.fillRect(bx, by, boxW, boxH);
                g.setColor(Color.GRAY);
                g.setStroke(thin);
                g.drawRect(bx, by, boxW, boxH);
                for (int i = 0; i < series.size(); i++) {
                    Series s = series.get(i);
                    int yy = by + 6 + i * rowH + rowH / 2;
                    g.setColor(s.color);
                    g.setStroke(s.dashed
                            ? new BasicStroke(1.8f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[] {7f, 5f}, 0f)
                            : new BasicStroke(1.8f));
                    g.drawLine(bx + 8, yy, bx + 38, yy);
                    if (s.dashed) g.fillOval(bx + 20, yy - 3, 7, 7);
                    g.setColor(Color.BLACK);
                    g.drawString(s.label, bx + 44, yy + fm.getAscent() / 2 - 1);
                }
            }
            if (empty) {
                g.setColor(Color.GRAY);
                String s = "no finite data";
                g.drawString(s, left + pw / 2 - fm.stringWidth(s) / 2, top + ph / 2);
            }
        } finally {
            g.dispose();
        }
        return img;
    }

    private boolean usable(double x, double y) {
        return Double.isFinite(x) && Double.isFinite(y) && (!logY || y > 0);
    }

    /** About {@code target} ticks at multiples of 1, 2 or 5 times a power of ten covering [lo, hi]. */
    static double[] linearTicks(double lo, double hi, int target) {
        double step = niceStep((hi - lo) / Math.max(1, target - 1));
        double first = Math.ceil(lo / step - 1e-9) * step;
        List<Double> t = new ArrayList<>();
        for (double v = first; v <= hi + step * 1e-9 && t.size() < 100; v += step) t.add(Math.abs(v) < step * 1e-9 ? 0 : v);
        return t.stream().mapToDouble(Double::doubleValue).toArray();
    }

    static double niceStep(double raw) {
        if (!(raw > 0)) return 1;
        double p = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / p;
        double n = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
        return n * p;
    }

    /** Ticks for a log axis: powers of ten, or 1-2-5 multiples, or plain linear ticks when the range is narrow. */
    static double[] logTicks(double lo, double hi) {
        int d0 = (int) Math.floor(Math.log10(lo)), d1 = (int) Math.ceil(Math.log10(hi));
        List<Double> t = new ArrayList<>();
        for (int d = d0; d <= d1; d++) {
            double v = Math.pow(10, d);
            if (v >= lo && v <= hi) t.add(v);
        }
        if (t.size() >= 3) return t.stream().mapToDouble(Double::doubleValue).toArray();
        t.clear();
        for (int d = d0; d <= d1; d++) {
            for (double m : new double[] {1, 2, 5}) {
                double v = m * Math.pow(10, d);
                if (v >= lo && v <= hi) t.add(v);
            }
        }
        if (t.size() >= 3) return t.stream().mapToDouble(Double::doubleValue).toArray();
        double[] lin = linearTicks(lo, hi, 6);
        List<Double> pos = new ArrayList<>();
        for (double v : lin) if (v > 0) pos.add(v);
        return pos.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Compact tick label: 0, 25, 0.5, 1000, 1.5e5, 1e-4. */
    static String tickLabel(double v) {
        if (v == 0) return "0";
        double a = Math.abs(v);
        if (a >= 1e5 || a < 1e-3) {
            String[] parts = String.format(Locale.ROOT, "%.2e", v).split("e");
            String mant = new BigDecimal(parts[0]).stripTrailingZeros().toPlainString();
            return mant + "e" + Integer.parseInt(parts[1]);
        }
        return new BigDecimal(String.format(Locale.ROOT, "%.6g", v)).stripTrailingZeros().toPlainString();
    }
}
