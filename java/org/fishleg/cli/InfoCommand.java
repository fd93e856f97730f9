package org.fishleg.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.fishleg.backend.Backend;
import org.fishleg.backend.BackendException;
import org.fishleg.backend.BackendOptions;
import org.fishleg.backend.Backends;
import org.fishleg.backend.cpu.CpuBackend;
import org.fishleg.backend.cuda.CudaSupport;
import org.fishleg.data.Mnist;
import picocli.CommandLine.Command;

/** {@code fishleg info}: Java, the CPU backend, the CUDA probe, the backend 'auto' picks, the data found. */
@Command(name = "info", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, usageHelpWidth = 100,
        description = "Print the Java runtime, the CPU backend, every line of the CUDA probe (usable, or why not), "
                + "which backend 'auto' would choose, and whether MNIST is present.")
final class InfoCommand implements Callable<Integer>, Main.Streams {
    private PrintStream out = System.out, err = System.err;

    @Override
    public void streams(PrintStream o, PrintStream e) { out = o; err = e; }

    @Override
    public Integer call() {
        String[] v = new Main.Version().getVersion();
        out.println(v[0]);
        Runtime rt = Runtime.getRuntime();
        out.println(String.format(Locale.ROOT, "java: %s (%s %s, %s), max heap %.1f GiB, %d processors",
                System.getProperty("java.version"), System.getProperty("java.vm.vendor"), System.getProperty("java.vm.name"),
                System.getProperty("java.home"), rt.maxMemory() / (1024.0 * 1024 * 1024), rt.availableProcessors()));
        out.println("os: " + System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        try (Backend cpu = new CpuBackend()) {
            out.println("cpu backend: " + cpu.description());
        } catch (RuntimeException | LinkageError e) {
            out.println("cpu backend: unusable: " + Main.oneLine(String.valueOf(e.getMessage())));
        }
        CudaSupport.Probe p = CudaSupport.probe();
        out.println("cuda backend: " + (p.usable ? "usable: " : "not usable: ") + p.reason);
        List<String> details = p.details == null ? List.of() : p.details;
        for (String d : details) out.println("  " + d);
        String auto;
        try {
            String choice = Backends.resolveChoice("auto", BackendOptions.fromEnvironment());
            auto = choice.equals("auto") ? (p.usable ? "cuda" : "cpu") : choice + " (from " + Backends.ENV + "=" + choice + ")";
        } catch (IllegalArgumentException | BackendException e) {
            auto = "error: " + e.getMessage();
        }
        out.println("backend for --backend auto: " + auto);
        Path mnist = DataSources.mnistDir(null);
        List<String> problems = Mnist.problems(mnist);
        out.println("mnist: " + mnist.toAbsolutePath().normalize() + (problems.isEmpty() ? " (present, sha256 OK)"
                : " (not usable: " + String.join("; ", problems) + "; run ./fishleg fetch-mnist)"));
        out.flush();
        return Main.EXIT_OK;
    }
}
