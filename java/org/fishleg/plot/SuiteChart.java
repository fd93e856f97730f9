package org.fishleg.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * A line chart of one curve per named series (e.g. the mean test loss of each optimizer of a benchmark suite)
 * drawn with JFreeChart into a PNG. Works headless ({@code java.awt.headless=true}). The y axis is logarithmic
 * when asked and every value is positive; {@link #wideRange} says when that helps.
 */
public final class SuiteChart {
    private static final Color[] PALETTE = {
        new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e), new Color(0x9467bd),
        new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f)
    };

    private final Map<String, double[][]> series = new LinkedHashMap<>();
    private String title = "", xLabel = "x", yLabel = "y";
    private boolean logY;
    private int width = 900, height = 560;

    /** Sets the title. */
    public SuiteChart title(String v) { title = v; return this; }
    /** Sets the axis labels. */
    public SuiteChart labels(String x, String y) { xLabel = x; yLabel = y; return this; }
    /** Log-scale y axis (ignored when some value is not positive). */
    public SuiteChart logY(boolean v) { logY = v; return this; }
    /** Image size in pixels. */
    public SuiteChart size(int w, int h) { width = w; height = h; return this; }

    /** Adds a curve; non-finite points are left out. */
    public SuiteChart add(String name, double[] x, double[] y) {
        if (x.length != y.length) throw new IllegalArgumentException("x and y differ in length");
        series.put(name, new double[][] {x.clone(), y.clone()});
        return this;
    }

    /** True when the finite values of all curves are positive and span more than a factor {@code ratio}. */
    public static boolean wideRange(Iterable<double[]> ys, double ratio) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double[] y : ys) {
            for (double v : y) {
                if (!Double.isFinite(v)) continue;
                if (v <= 0) return false;
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        return lo < hi && hi / lo > ratio;
    }

    /** The chart. */
    JFreeChart chart() {
        XYSeriesCollection data = new XYSeriesCollection();
        boolean positive = true;
        double minY = Double.POSITIVE_INFINITY;
        for (Map.Entry<String, double[][]> e : series.entrySet()) {
            XYSeries s = new XYSeries(e.getKey(), false, true);
            double[] x = e.getValue()[0], y = e.getValue()[1];
            for (int i = 0; i < x.length; i++) {
                if (!Double.isFinite(x[i]) || !Double.isFinite(y[i])) continue;
                s.add(x[i], y[i]);
                if (y[i] <= 0) positive = false;
                minY = Math.min(minY, y[i]);
            }
            data.addSeries(s);
        }
        JFreeChart chart = ChartFactory.createXYLineChart(title, xLabel, yLabel, data, PlotOrientation.VERTICAL, true, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xdddddd));
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
        for (int i = 0; i < data.getSeriesCount(); i++) {
            r.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
            r.setSeriesStroke(i, new BasicStroke(2f));
        }
        plot.setRenderer(r);
        if (logY && positive && data.getSeriesCount() > 0) {
            LogAxis y = new LogAxis(yLabel);
            y.setBase(10);
            y.setSmallestValue(1e-12);
            y.setNumberFormatOverride(new java.text.DecimalFormat(minY >= 10 ? "0" : "0.###",
                    java.text.DecimalFormatSymbols.getInstance(java.util.Locale.ROOT)));
            plot.setRangeAxis(y);
        } else {
            ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        }
        ((NumberAxis) plot.getDomainAxis()).setAutoRangeIncludesZero(false);
        return chart;
    }

    /** Writes the PNG (creating its folder). */
    public void write(Path png) {
        try {
            Path parent = png.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            ChartUtils.saveChartAsPNG(png.toFile(), chart(), width, height);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot write plot " + png + ": " + e.getMessage());
        }
    }
}
