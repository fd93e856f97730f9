package org.fishleg.backend.cuda;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Test support: tiny stand-ins for the NVIDIA libraries, compiled with gcc into the build folder,
 * and a runner for child JVMs (JCuda's native state is process-wide: a JVM that failed to load
 * JCudaDriver can never load it again, and LD_LIBRARY_PATH only counts at process start).
 */
final class NativeStubs {
    private NativeStubs() {}

    /**
     * libcuda.so.1. STUB_CUDA_MODE=nodevice (default): cuInit returns 100 (CUDA_ERROR_NO_DEVICE).
     * STUB_CUDA_MODE=device: one fake cc 9.0 device; cuModuleLoadData returns 200
     * (CUDA_ERROR_INVALID_IMAGE) so a probe stops there. Exports exactly what the probe calls.
     */
    static final String LIBCUDA_C = """
            #include <stdlib.h>
            #include <string.h>
            #include <stddef.h>
            static int fake(void) { const char *m = getenv("STUB_CUDA_MODE"); return m && strcmp(m, "device") == 0; }
            int cuDriverGetVersion(int *v) { *v = 13000; return 0; }
            int cuInit(unsigned int flags) { (void) flags; return fake() ? 0 : 100; }
            int cuDeviceGetCount(int *n) { *n = fake() ? 1 : 0; return 0; }
            int cuDeviceGet(int *dev, int ordinal) { *dev = ordinal; return 0; }
            int cuDeviceGetName(char *name, int len, int dev) { (void) dev; strncpy(name, "FishLeg Stub GPU", (size_t) len); return 0; }
            int cuDeviceGetAttribute(int *v, int attr, int dev) {
                (void) dev;
                *v = attr == 75 ? 9 : attr == 76 ? 0 : attr == 16 ? 132 : 1;
                return 0;
            }
            int cuDeviceTotalMem_v2(size_t *bytes, int dev) { (void) dev; *bytes = (size_t) 80 << 30; return 0; }
            int cuDevicePrimaryCtxRetain(void **ctx, int dev) { (void) dev; *ctx = (void *) 0x1000; return 0; }
            int cuDevicePrimaryCtxRelease_v2(int dev) { (void) dev; return 0; }
            int cuCtxSetCurrent(void *ctx) { (void) ctx; return 0; }
            int cuMemGetInfo_v2(size_t *free_, size_t *total) { *free_ = (size_t) 79 << 30; *total = (size_t) 80 << 30; return 0; }
            int cuModuleLoadData(void **module, const void *image) { (void) module; (void) image; return 200; }
            int cuModuleUnload(void *module) { (void) module; return 0; }
            """;

    /**
     * libcublas.so.13 with the few functions the tests call. cublasSgemm_v2 records its 14
     * arguments (one line appended to $STUB_CUBLAS_LOG) and really computes the column-major
     * product on HOST memory, so a test can check the row-major mapping numerically.
     */
    static final String LIBCUBLAS13_C = """
            #include <stdio.h>
            #include <stdlib.h>
            static void *const HANDLE = (void *) 0x5eed;
            static void logline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
            #include <stdarg.h>
            static void logline(const char *fmt, ...) {
                const char *path = getenv("STUB_CUBLAS_LOG");
                if (!path) return;
                FILE *f = fopen(path, "a");
                if (!f) return;
                va_list ap; va_start(ap, fmt); vfprintf(f, fmt, ap); va_end(ap);
                fclose(f);
            }
            int cublasCreate_v2(void **h) { *h = HANDLE; logline("cublasCreate_v2\\n"); return 0; }
            int cublasDestroy_v2(void *h) { (void) h; logline("cublasDestroy_v2\\n"); return 0; }
            int cublasGetVersion_v2(void *h, int *v) { (void) h; *v = 130001; return 0; }
            int cublasGetProperty(int type, int *v) { *v = type == 0 ? 13 : type == 1 ? 0 : 1; return 0; }
            int cublasSetStream_v2(void *h, void *s) { logline("cublasSetStream_v2 handle=%p stream=%p\\n", h, s); return 0; }
            int cublasSetPointerMode_v2(void *h, int m) { logline("cublasSetPointerMode_v2 handle=%p mode=%d\\n", h, m); return 0; }
            int cublasGetPointerMode_v2(void *h, int *m) { (void) h; *m = 0; return 0; }
            int cublasSetMathMode(void *h, int m) { logline("cublasSetMathMode handle=%p mode=%d\\n", h, m); return 0; }
            int cublasSgemm_v2(void *h, int ta, int tb, int m, int n, int k, const float *alpha,
                               const float *A, int lda, const float *B, int ldb, const float *beta, float *C, int ldc) {
                logline("cublasSgemm_v2 handle=%p transa=%d transb=%d m=%d n=%d k=%d alpha=%.9g A=%p lda=%d B=%p ldb=%d beta=%.9g C=%p ldc=%d\\n",
                        h, ta, tb, m, n, k, (double) *alpha, (const void *) A, lda, (const void *) B, ldb, (double) *beta, (void *) C, ldc);
                if (getenv("STUB_CUBLAS_NO_COMPUTE")) return 0;
                for (int j = 0; j < n; j++)
                    for (int i = 0; i < m; i++) {
                        double s = 0;
                        for (int l = 0; l < k; l++) {
                            double a = ta ? A[l + (long) i * lda] : A[i + (long) l * lda];
                            double b = tb ? B[j + (long) l * ldb] : B[l + (long) j * ldb];
                            s += a * b;
                        }
                        float *c = &C[i + (long) j * ldc];
                        *c = (float) (*alpha * s + (*beta == 0.0f ? 0.0 : (double) *beta * *c));
                    }
                return 0;
            }
            """;

    /** libcurand.so.10 exporting curandGetVersion (10.3.99). */
    static final String LIBCURAND10_C = """
            int curandGetVersion(int *v) { *v = 10399; return 0; }
            """;

    static boolean haveGcc() {
        for (String d : String.valueOf(System.getenv("PATH")).split(":"))
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, "gcc"))) return true;
        return false;
    }

    /** Folder for this test run's native files: target/tmp/cuda-stubs (java.io.tmpdir is target/tmp under Maven). */
    static Path workDir() throws IOException {
        Path d = Path.of(System.getProperty("java.io.tmpdir"), "cuda-stubs").toAbsolutePath();
        Files.createDirectories(d);
        return d;
    }

    /** Builds {@code dir/soname} from C source with gcc -shared (skips the test when gcc is missing). */
    static Path build(String dirName, String soname, String source) throws IOException, InterruptedException {
        return build(dirName, soname, source, null);
    }

    /**
     * As {@link #build(String, String, String)}; with {@code versionNode} non-null every symbol gets
     * that symbol version (the real NVIDIA libraries version theirs, e.g. libcurand.so.10, and
     * importers built against them require it).
     */
    static synchronized Path build(String dirName, String soname, String source, String versionNode)
            throws IOException, InterruptedException {
        Assumptions.assumeTrue(haveGcc(), "gcc not found: cannot build the stub " + soname);
        Path dir = workDir().resolve(dirName);
        Files.createDirectories(dir);
        Path lib = dir.resolve(soname);
        Path src = dir.resolve(soname + ".c");
        source = source + "/* symbol version: " + versionNode + " */\n"; // part of the cache key
        if (Files.isRegularFile(lib) && Files.isRegularFile(src)
                && Files.readString(src, StandardCharsets.UTF_8).equals(source)) return lib;
        List<String> cmd = new ArrayList<>(List.of("gcc", "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-Wl,-soname," + soname));
        if (versionNode != null) {
            Path map = dir.resolve(soname + ".map");
            Files.writeString(map, versionNode + " { global: *; };\n", StandardCharsets.UTF_8);
            cmd.add("-Wl,--version-script=" + map);
        }
        Path tmpSrc = dir.resolve(soname + ".build.c");
        Files.writeString(tmpSrc, source, StandardCharsets.UTF_8);
        cmd.addAll(List.of("-o", lib.toString(), tmpSrc.toString()));
        Result r = exec(cmd, Map.of(), 60);
        if (r.exit == 0) Files.move(tmpSrc, src, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        if (r.exit != 0) throw new IllegalStateException("gcc failed for " + soname + ":\n" + r.output);
        return lib;
    }

    static final class Result {
        final int exit;
        final String output;
        Result(int exit, String output) { this.exit = exit; this.output = output; }
        @Override public String toString() { return "exit " + exit + ":\n" + output; }
    }

    static Result exec(List<String> cmd, Map<String, String> env, int timeoutSeconds) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("timed out: " + cmd);
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /**
     * The class path of this test run: -Dfishleg.test.classpath if set, else the URLs of the class
     * loaders above this class (the JUnit console launcher loads tests through a URLClassLoader,
     * scripts/gpu-check.sh --bundle) followed by java.class.path (Maven surefire).
     */
    static String childClassPath() {
        String override = System.getProperty("fishleg.test.classpath");
        if (override != null && !override.isBlank()) return override;
        java.util.LinkedHashSet<String> parts = new java.util.LinkedHashSet<>();
        for (ClassLoader cl = NativeStubs.class.getClassLoader(); cl != null; cl = cl.getParent()) {
            if (cl instanceof java.net.URLClassLoader) {
                for (java.net.URL u : ((java.net.URLClassLoader) cl).getURLs()) {
                    try {
                        parts.add(Path.of(u.toURI()).toString());
                    } catch (java.net.URISyntaxException | IllegalArgumentException e) {
                        // not a file URL: not usable on a command line
                    }
                }
            }
        }
        for (String e : System.getProperty("java.class.path", "").split(java.io.File.pathSeparator))
            if (!e.isEmpty()) parts.add(e);
        return String.join(java.io.File.pathSeparator, parts);
    }

    /**
     * Runs {@code mainClass} in a child JVM with this JVM's class path, its own java.io.tmpdir
     * (JCuda extracts natives there under fixed names), extra environment and system properties.
     */
    static Result runChild(String tmpName, Class<?> mainClass, Map<String, String> env, List<String> sysProps, String... args)
            throws IOException, InterruptedException {
        Path tmp = workDir().resolve("jvm-" + tmpName);
        Files.createDirectories(tmp);
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx256m");
        cmd.add("-Djava.io.tmpdir=" + tmp);
        cmd.addAll(sysProps);
        cmd.add("-cp");
        cmd.add(childClassPath());
        cmd.add(mainClass.getName());
        for (String a : args) cmd.add(a);
        return exec(cmd, env, 120);
    }
}
