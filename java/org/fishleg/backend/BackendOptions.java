package org.fishleg.backend;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;

/**
 * Typed, immutable settings of the backends: which backend "auto" picks, the CPU thread count and GEMM
 * threading, the CUDA device, TF32, and where the CUDA backend finds its kernels and libraries. Build one
 * with {@link #builder()}, or read the environment with {@link #fromEnvironment()}: that method (through
 * {@link #from(Map, Map)}) is the one place in the project that reads the backends' environment variables
 * and system properties.
 *
 * <table>
 *   <caption>Environment variables and system properties</caption>
 *   <tr><th>Option</th><th>System property</th><th>Environment variable</th><th>Values (default)</th></tr>
 *   <tr><td>{@link #kind()}</td><td>-</td><td>{@value #BACKEND_ENV}</td><td>auto, cpu, cuda (auto)</td></tr>
 *   <tr><td>{@link #cpuThreads()}</td><td>{@value #CPU_THREADS_PROPERTY}</td><td>-</td>
 *       <td>an integer, values below 1 mean 1 (the available processors)</td></tr>
 *   <tr><td>{@link #gemmThreading()}</td><td>{@value #GEMM_THREADS_PROPERTY}</td><td>-</td><td>java, openblas (java)</td></tr>
 *   <tr><td>{@link #cudaDevice()}</td><td>{@value #CUDA_DEVICE_PROPERTY}</td><td>{@value #CUDA_DEVICE_ENV}</td>
 *       <td>a device ordinal &gt;= 0 (0)</td></tr>
 *   <tr><td>{@link #tf32()}</td><td>{@value #TF32_PROPERTY}</td><td>{@value #TF32_ENV}</td>
 *       <td>1/true/yes/on or 0/false/no/off (off)</td></tr>
 *   <tr><td>{@link #fatbin()}</td><td>{@value #FATBIN_PROPERTY}</td><td>{@value #FATBIN_ENV}</td>
 *       <td>a file (the fatbin on the classpath)</td></tr>
 *   <tr><td>{@link #cublas13Path()}</td><td>{@value #CUBLAS13_PROPERTY}</td><td>{@value #CUBLAS13_ENV}</td>
 *       <td>libcublas.so.13 or its folder (searched)</td></tr>
 *   <tr><td>{@link #cudaLibPath()}</td><td>{@value #CUDA_LIB_PATH_PROPERTY}</td><td>{@value #CUDA_LIB_PATH_ENV}</td>
 *       <td>folders separated by ':' (none)</td></tr>
 *   <tr><td>{@link #requireGpu()}</td><td>-</td><td>{@value #REQUIRE_GPU_ENV}</td>
 *       <td>1/true/yes or 0/false/no (no)</td></tr>
 * </table>
 *
 * <p>A system property wins over its environment variable; a blank value counts as unset. An explicit
 * {@code cpu} or {@code cuda} passed to {@link Backends#open(String, BackendOptions, java.util.function.Consumer)}
 * wins over {@link #kind()}. A value that cannot be parsed throws a {@link BackendException} naming the
 * variable or property and its value.
 *
 * <p>The CUDA library options ({@link #fatbin()}, {@link #cublas13Path()}, {@link #cudaLibPath()}) act
 * on native libraries loaded once per JVM: the first CUDA probe of the JVM uses them.
 */
public final class BackendOptions {

    /** Which backend {@code "auto"} resolves to. */
    public enum Kind {
        /** CUDA when a device and its libraries load, else the CPU. */
        AUTO,
        /** The CPU backend. */
        CPU,
        /** The CUDA backend (fails when it cannot open). */
        CUDA;

        /** "auto", "cpu" or "cuda". */
        public String id() { return name().toLowerCase(Locale.ROOT); }
    }

    /** How the CPU backend's GEMM uses the cores. */
    public enum GemmThreading {
        /** C split into blocks, each a single-threaded OpenBLAS call on the backend's Java worker threads. */
        JAVA,
        /** One OpenBLAS call with OpenBLAS's own threads. */
        OPENBLAS
    }

    /** Environment variable (auto, cpu or cuda) that overrides an "auto" request. */
    public static final String BACKEND_ENV = "FISHLEG_BACKEND";
    /** System property: threads of the CPU backend (Java loops, and OpenBLAS in openblas GEMM mode). */
    public static final String CPU_THREADS_PROPERTY = "fishleg.cpu.threads";
    /** System property: "java" (default) or "openblas", see {@link GemmThreading}. */
    public static final String GEMM_THREADS_PROPERTY = "fishleg.cpu.gemmThreads";
    /** System property: CUDA device ordinal. */
    public static final String CUDA_DEVICE_PROPERTY = "fishleg.cuda.device";
    /** Environment twin of {@link #CUDA_DEVICE_PROPERTY}. */
    public static final String CUDA_DEVICE_ENV = "FISHLEG_CUDA_DEVICE";
    /** System property: allow TF32 tensor cores in cuBLAS GEMM. */
    public static final String TF32_PROPERTY = "fishleg.cuda.tf32";
    /** Environment twin of {@link #TF32_PROPERTY}. */
    public static final String TF32_ENV = "FISHLEG_CUDA_TF32";
    /** System property: a kernels fatbin file used instead of the one on the classpath. */
    public static final String FATBIN_PROPERTY = "fishleg.cuda.fatbin";
    /** Environment twin of {@link #FATBIN_PROPERTY}. */
    public static final String FATBIN_ENV = "FISHLEG_CUDA_FATBIN";
    /** System property: libcublas.so.13 (file, or a folder holding it) for the cuBLAS 12 to 13 forwarder. */
    public static final String CUBLAS13_PROPERTY = "fishleg.cublas13.path";
    /** Environment twin of {@link #CUBLAS13_PROPERTY}. */
    public static final String CUBLAS13_ENV = "FISHLEG_CUBLAS13_PATH";
    /** System property: folders (':'-separated) searched first for the CUDA libraries. */
    public static final String CUDA_LIB_PATH_PROPERTY = "fishleg.cuda.libPath";
    /** Environment twin of {@link #CUDA_LIB_PATH_PROPERTY}. */
    public static final String CUDA_LIB_PATH_ENV = "FISHLEG_CUDA_LIB_PATH";
    /** Environment variable: GPU tests fail instead of skipping when no GPU is usable. */
    public static final String REQUIRE_GPU_ENV = "FISHLEG_REQUIRE_GPU";

    private static final BackendOptions DEFAULTS = new Builder().build();

    private final Kind kind;
    private final int cpuThreads;
    private final GemmThreading gemmThreading;
    private final int cudaDevice;
    private final boolean tf32;
    private final Path fatbin;
    private final Path cublas13Path;
    private final String cudaLibPath;
    private final boolean requireGpu;

    private BackendOptions(Builder b) {
        this.kind = b.kind;
        this.cpuThreads = b.cpuThreads;
        this.gemmThreading = b.gemmThreading;
        this.cudaDevice = b.cudaDevice;
        this.tf32 = b.tf32;
        this.fatbin = b.fatbin;
        this.cublas13Path = b.cublas13Path;
        this.cudaLibPath = b.cudaLibPath;
        this.requireGpu = b.requireGpu;
    }

    /** The defaults: auto, all processors, Java GEMM threading, device 0, no TF32, nothing overridden. */
    public static BackendOptions defaults() { return DEFAULTS; }

    /** A builder starting from the defaults. */
    public static Builder builder() { return new Builder(); }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.kind = kind;
        b.cpuThreads = cpuThreads;
        b.gemmThreading = gemmThreading;
        b.cudaDevice = cudaDevice;
        b.tf32 = tf32;
        b.fatbin = fatbin;
        b.cublas13Path = cublas13Path;
        b.cudaLibPath = cudaLibPath;
        b.requireGpu = requireGpu;
        return b;
    }

    /**
     * The options of this JVM: {@link #from(Map, Map)} of {@link System#getenv()} and
     * {@link System#getProperties()}. Read on every call (cheap), so a property set later is seen.
     */
    public static BackendOptions fromEnvironment() {
        return from(System.getenv(), properties(System.getProperties()));
    }

    /** The string-valued entries of {@code props} as a map. */
    public static Map<String, String> properties(Properties props) {
        Map<String, String> m = new HashMap<>();
        for (String k : props.stringPropertyNames()) m.put(k, props.getProperty(k));
        return m;
    }

    /**
     * Options from an environment and system properties (see the table in the class comment): a property
     * wins over its environment variable, blank values are unset, unset options keep their defaults.
     *
     * @throws BackendException naming the variable or property whose value cannot be parsed
     */
    public static BackendOptions from(Map<String, String> env, Map<String, String> props) {
        Objects.requireNonNull(env, "env");
        Objects.requireNonNull(props, "props");
        Builder b = new Builder();
        Setting s = setting(env, props, null, BACKEND_ENV);
        if (s != null) {
            switch (s.value.toLowerCase(Locale.ROOT)) {
                case "auto": b.kind = Kind.AUTO; break;
                case "cpu": b.kind = Kind.CPU; break;
                case "cuda": b.kind = Kind.CUDA; break;
                default: throw s.invalid("unknown backend '" + s.value.toLowerCase(Locale.ROOT) + "' (expected auto, cpu or cuda)");
            }
        }
        s = setting(env, props, CPU_THREADS_PROPERTY, null);
        if (s != null) b.cpuThreads = Math.max(1, s.integer("a number of threads"));
        s = setting(env, props, GEMM_THREADS_PROPERTY, null);
        if (s != null) {
            switch (s.value.toLowerCase(Locale.ROOT)) {
                case "java": b.gemmThreading = GemmThreading.JAVA; break;
                case "openblas": b.gemmThreading = GemmThreading.OPENBLAS; break;
                default: throw s.invalid("expected java or openblas");
            }
        }
        s = setting(env, props, CUDA_DEVICE_PROPERTY, CUDA_DEVICE_ENV);
        if (s != null) {
            int d = s.integer("a CUDA device ordinal");
            if (d < 0) throw s.invalid("a CUDA device ordinal must be >= 0");
            b.cudaDevice = d;
        }
        s = setting(env, props, TF32_PROPERTY, TF32_ENV);
        if (s != null) b.tf32 = s.flag(true);
        s = setting(env, props, FATBIN_PROPERTY, FATBIN_ENV);
        if (s != null) b.fatbin = s.path();
        s = setting(env, props, CUBLAS13_PROPERTY, CUBLAS13_ENV);
        if (s != null) b.cublas13Path = s.path();
        s = setting(env, props, CUDA_LIB_PATH_PROPERTY, CUDA_LIB_PATH_ENV);
        if (s != null) b.cudaLibPath = s.value;
        s = setting(env, props, null, REQUIRE_GPU_ENV);
        if (s != null) b.requireGpu = s.flag(false);
        return b.build();
    }

    /** One raw setting and where it came from. */
    private static final class Setting {
        final String source; // "-Dname" or "NAME"
        final String value;  // trimmed, not blank

        Setting(String source, String value) {
            this.source = source;
            this.value = value;
        }

        BackendException invalid(String why) {
            return new BackendException("invalid backend option " + source + "=" + value + ": " + why);
        }

        int integer(String what) {
            try {
                return Integer.parseInt(value);
            } catch (NumberFormatException e) {
                throw invalid("not a number (expected " + what + ")");
            }
        }

        /** 1/true/yes (and on when {@code on}) or 0/false/no (and off). */
        boolean flag(boolean on) {
            switch (value.toLowerCase(Locale.ROOT)) {
                case "1": case "true": case "yes": return true;
                case "0": case "false": case "no": return false;
                case "on": if (on) return true; break;
                case "off": if (on) return false; break;
                default: break;
            }
            throw invalid("expected " + (on ? "1/true/yes/on or 0/false/no/off" : "1/true/yes or 0/false/no"));
        }

        Path path() {
            try {
                return Path.of(value);
            } catch (RuntimeException e) {
                throw invalid("not a path (" + e.getMessage() + ")");
            }
        }
    }

    private static Setting setting(Map<String, String> env, Map<String, String> props, String property, String envName) {
        if (property != null) {
            String v = props.get(property);
            if (v != null && !v.isBlank()) return new Setting("-D" + property, v.trim());
        }
        if (envName != null) {
            String v = env.get(envName);
            if (v != null && !v.isBlank()) return new Setting(envName, v.trim());
        }
        return null;
    }

    // ------------------------------------------------------------------ accessors

    /** Which backend "auto" resolves to (an explicit cpu/cuda request wins over it). */
    public Kind kind() { return kind; }

    /** Threads of the CPU backend, or 0 for {@code availableProcessors()}. */
    public int cpuThreads() { return cpuThreads; }

    /** {@link #cpuThreads()} with 0 resolved to the available processors (at least 1). */
    public int resolvedCpuThreads() {
        return cpuThreads > 0 ? cpuThreads : Math.max(1, Runtime.getRuntime().availableProcessors());
    }

    /** How the CPU backend's GEMM uses the cores. */
    public GemmThreading gemmThreading() { return gemmThreading; }

    /** CUDA device ordinal. */
    public int cudaDevice() { return cudaDevice; }

    /** True: cuBLAS may use TF32 tensor cores for GEMM (CUBLAS_TF32_TENSOR_OP_MATH); false: full FP32. */
    public boolean tf32() { return tf32; }

    /** A kernels fatbin used instead of the classpath resource, or null. */
    public Path fatbin() { return fatbin; }

    /** libcublas.so.13 or a folder holding it, or null (searched). */
    public Path cublas13Path() { return cublas13Path; }

    /** Folders (':'-separated) searched first for CUDA libraries, or null. */
    public String cudaLibPath() { return cudaLibPath; }

    /** True: tests fail instead of skipping when no GPU is usable. */
    public boolean requireGpu() { return requireGpu; }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof BackendOptions)) return false;
        BackendOptions x = (BackendOptions) o;
        return kind == x.kind && cpuThreads == x.cpuThreads && gemmThreading == x.gemmThreading && cudaDevice == x.cudaDevice
                && tf32 == x.tf32 && Objects.equals(fatbin, x.fatbin) && Objects.equals(cublas13Path, x.cublas13Path)
                && Objects.equals(cudaLibPath, x.cudaLibPath) && requireGpu == x.requireGpu;
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, cpuThreads, gemmThreading, cudaDevice, tf32, fatbin, cublas13Path, cudaLibPath, requireGpu);
    }

    @Override
    public String toString() {
        return "BackendOptions[kind=" + kind.id() + ", cpuThreads=" + (cpuThreads == 0 ? "auto" : cpuThreads)
                + ", gemmThreading=" + gemmThreading.name().toLowerCase(Locale.ROOT) + ", cudaDevice=" + cudaDevice
                + ", tf32=" + tf32 + (fatbin != null ? ", fatbin=" + fatbin : "")
                + (cublas13Path != null ? ", cublas13Path=" + cublas13Path : "")
                + (cudaLibPath != null ? ", cudaLibPath=" + cudaLibPath : "") + ", requireGpu=" + requireGpu + "]";
    }

    /** Builds {@link BackendOptions}; every setter validates its argument and returns this builder. */
    public static final class Builder {
        private Kind kind = Kind.AUTO;
        private int cpuThreads;
        private GemmThreading gemmThreading = GemmThreading.JAVA;
        private int cudaDevice;
        private boolean tf32;
        private Path fatbin;
        private Path cublas13Path;
        private String cudaLibPath;
        private boolean requireGpu;

        private Builder() {}

        /** Which backend "auto" resolves to. */
        public Builder kind(Kind k) { this.kind = Objects.requireNonNull(k, "kind"); return this; }

        /** CPU threads, &gt;= 1, or 0 for the available processors. */
        public Builder cpuThreads(int n) {
            if (n < 0) throw new BackendException("invalid backend option cpuThreads=" + n + ": must be >= 0 (0: all processors)");
            this.cpuThreads = n;
            return this;
        }

        /** How the CPU backend's GEMM uses the cores. */
        public Builder gemmThreading(GemmThreading g) { this.gemmThreading = Objects.requireNonNull(g, "gemmThreading"); return this; }

        /** CUDA device ordinal, &gt;= 0. */
        public Builder cudaDevice(int d) {
            if (d < 0) throw new BackendException("invalid backend option cudaDevice=" + d + ": a CUDA device ordinal must be >= 0");
            this.cudaDevice = d;
            return this;
        }

        /** Allow TF32 in cuBLAS GEMM. */
        public Builder tf32(boolean on) { this.tf32 = on; return this; }

        /** A kernels fatbin file instead of the classpath resource (null: the resource). */
        public Builder fatbin(Path p) { this.fatbin = p; return this; }

        /** libcublas.so.13 or its folder (null: searched). */
        public Builder cublas13Path(Path p) { this.cublas13Path = p; return this; }

        /** Folders (':'-separated) searched first for CUDA libraries (null or blank: none). */
        public Builder cudaLibPath(String dirs) { this.cudaLibPath = dirs == null || dirs.isBlank() ? null : dirs.trim(); return this; }

        /** Tests fail instead of skipping without a usable GPU. */
        public Builder requireGpu(boolean on) { this.requireGpu = on; return this; }

        /** The immutable options. */
        public BackendOptions build() { return new BackendOptions(this); }
    }
}
