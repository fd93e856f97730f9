package org.fishleg.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.fishleg.plot.LossPlot;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code fishleg plot}: loss curves of one or several metrics CSV files as a PNG. */
@Command(name = "plot", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, usageHelpWidth = 100,
        description = "Draw the train loss (solid) and test loss (dashed, dots), or with --metric mse the squared errors, of one or several metrics CSV files "
                + "against step, wall time or epoch, into a PNG (legend by file name).")
final class PlotCommand implements Callable<Integer>, Main.Streams {
    private PrintStream out = System.out, err = System.err;

    @Override
    public void streams(PrintStream o, PrintStream e) { out = o; err = e; }

    @Parameters(arity = "1..*", paramLabel = "METRICS.csv", description = "Metrics files written by 'fishleg train'.")
    List<Path> files;

    @Option(names = {"-o", "--output"}, paramLabel = "PNG", defaultValue = "loss.png",
            description = "Output PNG. Default: ${DEFAULT-VALUE}.")
    Path output;

    @Option(names = "--x", paramLabel = "AXIS", defaultValue = "step",
            description = "step | wall (seconds) | epoch. Default: ${DEFAULT-VALUE}.")
    String x;

    @Option(names = "--metric", paramLabel = "nll|mse", defaultValue = "nll",
            description = "nll (train_loss, test_loss) | mse (train_mse, test_mse: runs of a Gaussian likelihood, e.g. dln). Default: ${DEFAULT-VALUE}.")
    String metric;

    @Option(names = "--log-y", description = "Logarithmic loss axis.")
    boolean logY;

    @Option(names = "--title", paramLabel = "TEXT", defaultValue = "loss", description = "Title. Default: ${DEFAULT-VALUE}.")
    String title;

    @Option(names = "--width", paramLabel = "PX", defaultValue = "1000", description = "Width in pixels. Default: ${DEFAULT-VALUE}.")
    int width;

    @Option(names = "--height", paramLabel = "PX", defaultValue = "640", description = "Height in pixels. Default: ${DEFAULT-VALUE}.")
    int height;

    @Option(names = "--only", paramLabel = "SERIES", description = "train | test: draw only that loss. Default: both.")
    String only;

    @Override
    public Integer call() {
        boolean train = true, test = true;
        if (only != null) {
            switch (only.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "train": test = false; break;
                case "test": train = false; break;
                default: throw new UserException("--only must be train or test, got '" + only + "'");
            }
        }
        LossPlot.XAxis axis;
        try {
            axis = LossPlot.XAxis.parse(x);
        } catch (IllegalArgumentException e) {
            throw new UserException("--x must be step, wall or epoch, got '" + x + "'");
        }
        LossPlot.Metric m;
        try {
            m = LossPlot.Metric.parse(metric);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
        try {
            new LossPlot().xAxis(axis).logY(logY).title(title).size(width, height).series(train, test).metric(m)
                    .write(files, output);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
        out.println("plot: " + output + " (" + files.size() + " run" + (files.size() == 1 ? "" : "s") + ")");
        out.flush();
        return Main.EXIT_OK;
    }
}
