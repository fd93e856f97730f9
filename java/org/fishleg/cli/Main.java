package org.fishleg.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.Callable;
import org.fishleg.backend.BackendException;
import org.fishleg.data.DataException;
import org.fishleg.train.CheckpointException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The {@code fishleg} command line: train, bench, info, fetch-mnist, plot.
 *
 * <p>Exit codes: 0 success; 1 the training run diverged (non-finite loss); 2 a user mistake (bad option,
 * unknown model, missing data, unwritable or full file, checkpoint of another model, damaged checkpoint), reported
 * as ONE line on stderr;
 * 3 an internal error (one line; {@code --debug} prints the stack trace); 130 a training run stopped by Ctrl-C
 * (SIGINT), 143 one stopped by SIGTERM (after saving its checkpoint; the JVM gives these statuses to a process
 * that exits on the signal).
 */
@Command(name = "fishleg", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        usageHelpWidth = 100,
        description = "Train neural networks with FishLeg (a Fisher-Legendre second-order optimizer) and "
                + "first-order baselines on a CPU (OpenBLAS) or CUDA backend.",
        subcommands = {TrainCommand.class, BenchCommand.class, InfoCommand.class, FetchMnistCommand.class,
                PlotCommand.class, CommandLine.HelpCommand.class},
        footerHeading = "%nExit codes:%n",
        footer = {"  0  success", "  1  the training run diverged (non-finite loss)",
                "  2  usage error or bad input (one line on stderr)", "  3  internal error (--debug shows the stack trace)",
                "  130  training stopped by Ctrl-C after the step in progress and its checkpoint",
                "  143  the same, stopped by SIGTERM",
                "", "Environment: FISHLEG_BACKEND=cpu|cuda overrides --backend auto; FISHLEG_DATA=DIR is the data folder "
                + "(default <repository>/data); JAVA_OPTS is passed to java by the ./fishleg launcher."})
public final class Main implements Callable<Integer> {

    /** Exit codes: 0 success, 1 training diverged, 2 user mistake, 3 internal error, 130 stopped by Ctrl-C. */
    static final int EXIT_OK = 0, EXIT_DIVERGED = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 3, EXIT_INTERRUPTED = 130;

    @Spec CommandSpec spec;

    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "Print stack traces of errors.")
    boolean debug;

    /** Streams of this invocation (System.out/err from main, captured streams in tests). */
    final PrintStream out, err;

    Main(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() {
        err.println("fishleg: missing command (train, bench, info, fetch-mnist, plot); see 'fishleg --help'");
        return EXIT_USAGE;
    }

    /** Runs the command line and exits with its code. */
    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    /** Runs the command line with the given streams and returns the exit code (never exits the JVM). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        boolean debug = Arrays.asList(args).contains("--debug");
        CommandLine cl = commandLine(out, err);
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            String name = c.getCommandSpec().qualifiedName();
            err.println(name + ": " + oneLine(ex.getMessage()) + " (see '" + name + " --help')");
            if (debug) ex.printStackTrace(err);
            return EXIT_USAGE;
        });
        cl.setExecutionExceptionHandler((ex, c, parseResult) -> {
            String name = c.getCommandSpec().qualifiedName();
            int code = exitCodeFor(ex);
            String msg = messageFor(ex);
            if (code == EXIT_INTERNAL && !debug) msg += " (run with --debug for the stack trace)";
            err.println(name + ": " + msg);
            if (debug) ex.printStackTrace(err);
            return code;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            // picocli's handler sees only Exceptions; an Error would otherwise end in a stack trace
            err.println("fishleg: " + messageFor(e));
            if (debug) e.printStackTrace(err);
            return EXIT_USAGE;
        } catch (ExceptionInInitializerError | UnsatisfiedLinkError | NoClassDefFoundError e) {
            Throwable c = e instanceof ExceptionInInitializerError && e.getCause() != null ? e.getCause() : e;
            err.println("fishleg: a native library or class failed to load: " + c.getClass().getSimpleName() + ": "
                    + oneLine(c.getMessage()) + " (check the installation; fishleg info shows what loaded)"
                    + (debug ? "" : " (run with --debug for the stack trace)"));
            if (debug) e.printStackTrace(err);
            return EXIT_USAGE;
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** The command tree bound to these streams (without the exception handlers). */
    static CommandLine commandLine(PrintStream out, PrintStream err) {
        CommandLine cl = new CommandLine(new Main(out, err), new Factory(out, err));
        cl.setOut(new PrintWriter(new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8), true));
        cl.setErr(new PrintWriter(new java.io.OutputStreamWriter(err, StandardCharsets.UTF_8), true));
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        return cl;
    }

    static int exitCodeFor(Throwable ex) {
        if (ex instanceof UserException || ex instanceof IllegalArgumentException || ex instanceof DataException
                || ex instanceof CheckpointException || ex instanceof UnsupportedOperationException
                || ex instanceof UncheckedIOException)
            return EXIT_USAGE;
        if (ex instanceof BackendException && ex.getMessage() != null
                && (ex.getMessage().contains("unavailable") || ex.getMessage().startsWith("invalid backend option")
                    || isOutOfMemory(ex)))
            return EXIT_USAGE;
        return EXIT_INTERNAL;
    }

    /** A backend allocation that failed for lack of (native or device) memory. */
    static boolean isOutOfMemory(Throwable ex) {
        String m = ex.getMessage();
        return m != null && (m.contains("out of native memory") || m.contains("out of memory") || m.contains("CUDA_ERROR_OUT_OF_MEMORY"));
    }

    static String messageFor(Throwable ex) {
        if (ex instanceof OutOfMemoryError)
            return "out of memory (" + ex.getMessage() + ", Java heap limit " + (Runtime.getRuntime().maxMemory() >> 20)
                    + " MiB); give Java more heap, e.g. JAVA_OPTS=-Xmx8g, or use a smaller --batch-size / --eval-batch-size";
        if (ex instanceof BackendException && isOutOfMemory(ex))
            return oneLine(ex.getMessage()) + "; use a smaller --batch-size / --eval-batch-size or a smaller model, or free memory";
        String m = ex.getMessage();
        if (exitCodeFor(ex) == EXIT_INTERNAL) return "internal error: " + ex.getClass().getSimpleName() + (m == null ? "" : ": " + oneLine(m));
        return m == null ? ex.getClass().getSimpleName() : oneLine(m);
    }

    static String oneLine(String s) {
        if (s == null) return "";
        return s.replace("\r", " ").replace("\n", " ").trim();
    }

    /** Passes this invocation's streams to the sub-commands. */
    private static final class Factory implements CommandLine.IFactory {
        private final PrintStream out, err;
        private final CommandLine.IFactory fallback = CommandLine.defaultFactory();

        Factory(PrintStream out, PrintStream err) {
            this.out = out;
            this.err = err;
        }

        @Override
        public <K> K create(Class<K> cls) throws Exception {
            if (cls == Main.class) return cls.cast(new Main(out, err));
            K k = fallback.create(cls);
            if (k instanceof Streams) ((Streams) k).streams(out, err);
            return k;
        }
    }

    /** Commands that print to this invocation's streams. */
    interface Streams {
        void streams(PrintStream out, PrintStream err);
    }

    /** Version from the jar manifest, else "dev". */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"fishleg " + (v != null ? v : "0.1.0-SNAPSHOT"), "Java " + System.getProperty("java.version")
                    + " (" + System.getProperty("java.vm.name") + ")"};
        }
    }
}
