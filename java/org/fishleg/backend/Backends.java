package org.fishleg.backend;

import java.util.Locale;
import java.util.function.Consumer;
import org.fishleg.backend.cpu.CpuBackend;
import org.fishleg.backend.cuda.CudaSupport;

/**
 * Backend selection: "auto" (CUDA when a device and its libraries load, else CPU with a one-line
 * reason), "cpu" or "cuda". The environment variable FISHLEG_BACKEND overrides "auto".
 */
public final class Backends {
    /** Environment variable (cpu, cuda or auto) that overrides an "auto" request. */
    public static final String ENV = "FISHLEG_BACKEND";

    private Backends() {}

    /** The effective choice: an explicit cpu/cuda wins, otherwise FISHLEG_BACKEND, otherwise auto. */
    public static String resolveChoice(String requested) {
        String r = requested == null ? "auto" : requested.trim().toLowerCase(Locale.ROOT);
        if (r.equals("auto")) {
            String env = System.getenv(ENV);
            if (env != null && !env.isBlank()) r = env.trim().toLowerCase(Locale.ROOT);
        }
        if (!r.equals("auto") && !r.equals("cpu") && !r.equals("cuda"))
            throw new IllegalArgumentException("unknown backend '" + r + "' (expected auto, cpu or cuda)");
        return r;
    }

    /**
     * Opens the requested backend. {@code log} receives one line saying which backend was chosen and,
     * for auto falling back to CPU, why CUDA was not used.
     */
    public static Backend open(String requested, Consumer<String> log) {
        String choice = resolveChoice(requested);
        switch (choice) {
            case "cpu": {
                Backend b = new CpuBackend();
                log.accept("backend: cpu (" + b.description() + ")");
                return b;
            }
            case "cuda": {
                Backend b = CudaSupport.open();
                log.accept("backend: cuda (" + b.description() + ")");
                return b;
            }
            default: {
                CudaSupport.Probe p = CudaSupport.probe();
                if (p.usable) {
                    try {
                        Backend b = CudaSupport.open();
                        log.accept("backend: cuda (" + b.description() + ")");
                        return b;
                    } catch (RuntimeException | LinkageError e) {
                        log.accept("backend: cpu (CUDA failed to open: " + e.getMessage() + ")");
                        return new CpuBackend();
                    }
                }
                Backend b = new CpuBackend();
                log.accept("backend: cpu (CUDA not used: " + p.reason + ")");
                return b;
            }
        }
    }
}
