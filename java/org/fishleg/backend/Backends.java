package org.fishleg.backend;

import java.util.Locale;
import java.util.function.Consumer;
import org.fishleg.backend.cpu.CpuBackend;
import org.fishleg.backend.cuda.CudaSupport;

/**
 * Backend selection: "auto" (CUDA when a device and its libraries load, else CPU with a one-line
 * reason), "cpu" or "cuda". {@link BackendOptions#kind()} (environment variable FISHLEG_BACKEND in
 * {@link BackendOptions#fromEnvironment()}) overrides "auto"; an explicit "cpu" or "cuda" wins over it.
 */
public final class Backends {
    /** Environment variable (cpu, cuda or auto) that overrides an "auto" request: {@link BackendOptions#BACKEND_ENV}. */
    public static final String ENV = BackendOptions.BACKEND_ENV;

    private Backends() {}

    /**
     * The effective choice under {@link BackendOptions#fromEnvironment()}: an explicit cpu/cuda wins,
     * otherwise FISHLEG_BACKEND, otherwise auto.
     */
    public static String resolveChoice(String requested) {
        return resolveChoice(normalise(requested), BackendOptions.fromEnvironment());
    }

    /** The effective choice: an explicit cpu/cuda wins, otherwise {@code options.kind()}. */
    public static String resolveChoice(String requested, BackendOptions options) {
        String r = normalise(requested);
        return r.equals("auto") ? options.kind().id() : r;
    }

    private static String normalise(String requested) {
        String r = requested == null ? "auto" : requested.trim().toLowerCase(Locale.ROOT);
        if (!r.equals("auto") && !r.equals("cpu") && !r.equals("cuda"))
            throw new IllegalArgumentException("unknown backend '" + r + "' (expected auto, cpu or cuda)");
        return r;
    }

    /** {@link #open(String, BackendOptions, Consumer)} with {@link BackendOptions#fromEnvironment()}. */
    public static Backend open(String requested, Consumer<String> log) {
        normalise(requested); // an unknown name is reported before the environment is read
        return open(requested, BackendOptions.fromEnvironment(), log);
    }

    /** {@link #open(String, BackendOptions, Consumer)} of {@code options.kind()}. */
    public static Backend open(BackendOptions options, Consumer<String> log) {
        return open(options.kind().id(), options, log);
    }

    /**
     * Opens the requested backend ("auto", "cpu" or "cuda") with the given options. {@code log} receives
     * one line saying which backend was chosen and, for auto falling back to CPU, why CUDA was not used.
     */
    public static Backend open(String requested, BackendOptions options, Consumer<String> log) {
        String choice = resolveChoice(requested, options);
        switch (choice) {
            case "cpu": {
                Backend b = new CpuBackend(options);
                log.accept("backend: cpu (" + b.description() + ")");
                return b;
            }
            case "cuda": {
                Backend b = CudaSupport.open(options);
                log.accept("backend: cuda (" + b.description() + ")");
                return b;
            }
            default: {
                CudaSupport.Probe p = CudaSupport.probe(options);
                if (p.usable) {
                    try {
                        Backend b = CudaSupport.open(options);
                        log.accept("backend: cuda (" + b.description() + ")");
                        return b;
                    } catch (RuntimeException | LinkageError e) {
                        log.accept("backend: cpu (CUDA failed to open: " + e.getMessage() + ")");
                        return new CpuBackend(options);
                    }
                }
                Backend b = new CpuBackend(options);
                log.accept("backend: cpu (CUDA not used: " + p.reason + ")");
                return b;
            }
        }
    }
}
