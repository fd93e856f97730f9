package org.fishleg.experiments;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
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
 * A small headless java.awt line plot for the experiments: several panels stacked vertically, each
 * with named series (x, y arrays), optional log-scaled y, a legend. Non-finite points (and non-positive
 * ones on a log axis) are skipped. {@code org.fishleg.plot.LossPlot} draws metrics CSV files of the
 * Trainer; this one draws arbitrary arrays (e.g. the auxiliary loss against its optimum).
 */
final class LinePlot {

    static final Color[] PALETTE = {
        new Color(0xd62728), new Color(0x1f77b4), new Color(0x2ca02c), new Color(0xff7f0e), new Color(0x9467bd),
        new Color(0x8c564b), new Color(0x7f7f7f)
    };

    /** One curve. */
    public static final class Series {
        final String label;
        final Color color;
        final boolean dashed;
        final double[] x, y;

        /** A curve through the points (x[i], y[i]) in palette colour {@code colorIndex}. */
        public Series(String label, int colorIndex, boolean dashed, double[] x, double[] y) {
            if (x.length != y.length) throw new IllegalArgumentException("series " + label + ": x and y lengths differ");
            this.label = label;
            this.color = PALETTE[Math.floorMod(colorIndex, PALETTE.length)];
            this.dashed = dashed;
            this.x = x;
            this.y = y;
        }
    }

    /** One panel (axes). */
    public static final class Panel {
        final String title, xLabel, yLabel;
        final boolean logY;
        final List<Series> series = new ArrayList<>();
        Double yMinClip, yMaxClip;

        /** An empty panel. */
        Panel(String title, String xLabel, String yLabel, boolean logY) {
            this.title = title; this.xLabel = xLabel; this.yLabel = yLabel; this.logY = logY;
        }

        /** Adds a curve. */
        public Panel add(Series s) { series.add(s); return this; }

        /** Restricts the y range (points outside are clipped, not dropped). */
        Panel yRange(Double lo, Double hi) { yMinClip = lo; yMaxClip = hi; return this; }
    }

    private final List<Panel> panels = new ArrayList<>();
    private final int width, panelHeight;

    /** A plot of panels stacked vertically, each {@code panelHeight} pixels high. */
    LinePlot(int width, int panelHeight) {
        this.width = width;
        this.panelHeight = panelHeight;
    }

    /** Adds a panel below the others. */
    public LinePlot add(Panel p) { panels.add(p); return this; }

    /** Renders all panels and writes a PNG (creating the folder). */
    public void write(Path png) {
        BufferedImage img = new BufferedImage(width, panelHeight * Math.max(1, panels.size()), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, img.getWidth(), img.getHeight());
            for (int i = 0; i < panels.size(); i++) draw(g, panels.get(i), i * panelHeight);
        } finally {
            g.dispose();
        }
        try {
            Path parent = png.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            if (!ImageIO.write(img, "png", png.toFile())) throw new IllegalStateException("no PNG writer available");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot write plot " + png + ": " + e.getMessage(), e);
        }
    }

    private static boolean usable(Panel p, double x, double y) {
        return Double.isFinite(x) && Double.isFinite(y) && (!p.logY || y > 0);
    }

    private void draw(Graphics2D g, Panel p, int y0) {
        double xmin = Double.POSITIVE_INFINITY, xmax = Double.NEGATIVE_INFINITY;
        double ymin = Double.POSITIVE_INFINITY, ymax = Double.NEGATIVE_INFINITY;
        for (Series s : p.series)
            for (int k = 0; k < s.x.length; k++) {
                if (!usable(p, s.x[k], s.y[k])) continue;
                xmin = Math.min(xmin, s.x[k]); xmax = Math.max(xmax, s.x[k]);
                ymin = Math.min(ymin, s.y[k]); ymax = Math.max(ymax, s.y[k]);
            }
        if (!(xmin <= xmax)) { xmin = 0; xmax = 1; ymin = p.logY ? 1 : 0; ymax = p.logY ? 10 : 1; }
        if (p.yMinClip != null) ymin = Math.max(ymin, p.yMinClip);
        if (p.yMaxClip != null) ymax = Math.min(ymax, p.yMaxClip);
        if (xmax == xmin) xmax = xmin + 1;
        double lo = p.logY ? Math.log10(ymin) : ymin, hi = p.logY ? Math.log10(ymax) : ymax;
        if (hi == lo) { hi = lo + 0.5; lo = lo - 0.5; }
        double pad = (hi - lo) * 0.04;
        lo -= pad;
        hi += pad;
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
        g.setFont(font);
        FontMetrics fm = g.getFontMetrics();
        double[] yt = p.logY ? logTicks(lo, hi) : ticks(lo, hi, 7);
        double[] xt = ticks(xmin, xmax, 8);
        int maxLabel = 0;
        for (double t : yt) maxLabel = Math.max(maxLabel, fm.stringWidth(label(p.logY ? Math.pow(10, t) : t)));
        int left = 36 + maxLabel + 12, right = 20, top = y0 + 40, bottom = 54;
        int pw = width - left - right, ph = panelHeight - 40 - bottom;
        final double fxmin = xmin, fxmax = xmax, flo = lo, fhi = hi;
        java.util.function.DoubleUnaryOperator sx = v -> left + (v - fxmin) / (fxmax - fxmin) * pw;
        java.util.function.DoubleUnaryOperator sy = v -> {
            double t = p.logY ? Math.log10(v) : v;
            t = Math.max(flo, Math.min(fhi, t));
            return top + ph - (t - flo) / (fhi - flo) * ph;
        };
        g.setStroke(new BasicStroke(1f));
        for (double t : xt) {
            int px = (int) Math.round(sx.applyAsDouble(t));
            g.setColor(new Color(0xE6E6E6));
            g.drawLine(px, top, px, top + ph);
            g.setColor(Color.DARK_GRAY);
            String s = label(t);
            g.drawString(s, px - fm.stringWidth(s) / 2, top + ph + 6 + fm.getAscent());
        }
        for (double t : yt) {
            int py = (int) Math.round(top + ph - (t - lo) / (hi - lo) * ph);
            g.setColor(new Color(0xE6E6E6));
            g.drawLine(left, py, left + pw, py);
            g.setColor(Color.DARK_GRAY);
            String s = label(p.logY ? Math.pow(10, t) : t);
            g.drawString(s, left - 6 - fm.stringWidth(s), py + fm.getAscent() / 2 - 1);
        }
        g.setColor(Color.BLACK);
        g.drawRect(left, top, pw, ph);
        g.drawString(p.xLabel, left + pw / 2 - fm.stringWidth(p.xLabel) / 2, top + ph + 40);
        AffineTransform saved = g.getTransform();
        g.rotate(-Math.PI / 2);
        g.drawString(p.yLabel, -(top + ph / 2) - fm.stringWidth(p.yLabel) / 2, 16);
        g.setTransform(saved);
        Font tf = font.deriveFont(Font.BOLD, 14f);
        g.setFont(tf);
        g.drawString(p.title, width / 2 - g.getFontMetrics().stringWidth(p.title) / 2, y0 + 24);
        g.setFont(font);
        g.setClip(left + 1, top + 1, pw - 1, ph - 1);
        for (Series s : p.series) {
            g.setColor(s.color);
            g.setStroke(stroke(s.dashed));
            Path2D.Double path = new Path2D.Double();
            boolean pen = false;
            for (int k = 0; k < s.x.length; k++) {
                if (!usable(p, s.x[k], s.y[k])) { pen = false; continue; }
                double px = sx.applyAsDouble(s.x[k]), py = sy.applyAsDouble(s.y[k]);
                if (!pen) { path.moveTo(px, py); pen = true; } else path.lineTo(px, py);
            }
            g.draw(path);
        }
        g.setClip(null);
        if (!p.series.isEmpty()) {
            int lw = 0;
            for (Series s : p.series) lw = Math.max(lw, fm.stringWidth(s.label));
            int rowH = fm.getHeight() + 2, boxW = lw + 52, boxH = rowH * p.series.size() + 10;
            int bx = left + pw - boxW - 10, by = top + 10;
            g.setColor(new Color(255, 255, 255, 230));
            g.fillRect(bx, by, boxW, boxH);
            g.setColor(Color.GRAY);
            g.setStroke(new BasicStroke(1f));
            g.drawRect(bx, by, boxW, boxH);
            for (int i = 0; i < p.series.size(); i++) {
                Series s = p.series.get(i);
                int yy = by + 6 + i * rowH + rowH / 2;
                g.setColor(s.color);
                g.setStroke(stroke(s.dashed));
                g.drawLine(bx + 8, yy, bx + 38, yy);
                g.setColor(Color.BLACK);
                g.drawString(s.label, bx + 44, yy + fm.getAscent() / 2 - 1);
            }
        }
    }

    private static BasicStroke stroke(boolean dashed) {
        return dashed ? new BasicStroke(1.8f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[] {7f, 5f}, 0f)
                : new BasicStroke(1.6f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND);
    }

    /** Ticks at 1-2-5 multiples of a power of ten inside [lo, hi]. */
    static double[] ticks(double lo, double hi, int target) {
        double raw = (hi - lo) / Math.max(1, target - 1);
        double pw = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / pw;
        double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pw;
        List<Double> t = new ArrayList<>();
        for (double v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9 && t.size() < 50; v += step)
            t.add(Math.abs(v) < step * 1e-9 ? 0 : v);
        return t.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Log-axis ticks (in log10 units): decades, thinned to at most about 8, or 1-2-5 multiples on a narrow range. */
    static double[] logTicks(double lo, double hi) {
        int d0 = (int) Math.ceil(lo), d1 = (int) Math.floor(hi);
        List<Double> t = new ArrayList<>();
        if (d1 - d0 >= 2) {
            int stride = Math.max(1, (d1 - d0 + 7) / 8);
            for (int d = d0; d <= d1; d += stride) t.add((double) d);
        } else {
            for (int d = (int) Math.floor(lo); d <= (int) Math.ceil(hi); d++)
                for (double m : new double[] {1, 2, 5}) {
                    double v = d + Math.log10(m);
                    if (v >= lo && v <= hi) t.add(v);
                }
        }
        return t.stream().mapToDouble(Double::doubleValue).toArray();
    }

    static String label(double v) {
        if (v == 0) return "0";
        double a = Math.abs(v);
        if (a >= 1e5 || a < 1e-3) {
            String[] parts = String.format(Locale.ROOT, "%.2e", v).split("e");
            return new BigDecimal(parts[0]).stripTrailingZeros().toPlainString() + "e" + Integer.parseInt(parts[1]);
        }
        return new BigDecimal(String.format(Locale.ROOT, "%.6g", v)).stripTrailingZeros().toPlainString();
    }
}
