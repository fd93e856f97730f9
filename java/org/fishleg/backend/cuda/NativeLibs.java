package org.fishleg.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Native library plumbing of the CUDA backend, all without touching a JCuda class (so it can run
 * before JCublas2's static initializer decides which libcublas it links against):
 * <ul>
 *   <li>finding a shared library by soname the way the dynamic loader would (LD_LIBRARY_PATH,
 *       the ld.so cache, the usual CUDA directories);</li>
 *   <li>the libcublas.so.12 to libcublas.so.13 forwarder for CUDA 13 hosts (native/cublas-forward,
 *       shipped as classpath resource {@value #FORWARDER_RESOURCE}), {@code System.load}ed before
 *       JCublas2 when libcublas.so.12 is absent and libcublas.so.13 is found;</li>
 *   <li>which file a loaded library came from ({@code /proc/self/maps}), for {@code fishleg info}.</li>
 * </ul>
 */
public final class NativeLibs {
    /** Classpath resource of the forwarding library (soname libcublas.so.12). */
    public static final String FORWARDER_RESOURCE = "/org/fishleg/cuda/native/libcublas.so.12";
    static final String FORWARDER_NOT_BUILT = "/org/fishleg/cuda/native/forwarder-not-built.txt";
    /** Path of libcublas.so.13 (file, or a directory holding it). Env twin: FISHLEG_CUBLAS13_PATH. */
    public static final String CUBLAS13_PROPERTY = "fishleg.cublas13.path";
    public static final String CUBLAS13_ENV = "FISHLEG_CUBLAS13_PATH";

    private NativeLibs() {}

    /** Result of preparing cuBLAS linkage: ok or a one-line failure, and one line of detail. */
    public static final class CublasSetup {
        public final boolean ok;
        public final boolean forwarded;
        /** "libcublas.so.12 from PATH", "forwarded to PATH by PATH", or the failure reason. */
        public final String detail;

        CublasSetup(boolean ok, boolean forwarded, String detail) {
            this.ok = ok;
            this.forwarded = forwarded;
            this.detail = detail;
        }
    }

    private static CublasSetup cublasSetup;

    /**
     * Makes sure JCublas2 will find a libcublas.so.12: a real one (nothing to do), or the forwarder
     * in front of libcublas.so.13. Idempotent; never throws.
     */
    public static synchronized CublasSetup prepareCublas() {
        if (cublasSetup == null) {
            try {
                cublasSetup = doPrepareCublas();
            } catch (RuntimeException | LinkageError e) {
                cublasSetup = new CublasSetup(false, false, "cuBLAS setup failed: " + oneLine(e));
            }
        }
        return cublasSetup;
    }

    private static CublasSetup doPrepareCublas() {
        String loaded12 = loadedFrom("libcublas.so.12");
        if (loaded12 != null) return new CublasSetup(true, false, "libcublas.so.12 (already loaded) from " + loaded12);
        Path p12 = findLibrary("libcublas.so.12");
        if (p12 != null) return new CublasSetup(true, false, "libcublas.so.12 from " + p12);

        Path p13 = explicitCublas13();
        if (p13 == null) p13 = findLibrary("libcublas.so.13");
        if (p13 == null)
            return new CublasSetup(false, false, "libcublas.so.12 not found and no libcublas.so.13 to forward to");
        if (NativeLibs.class.getResource(FORWARDER_RESOURCE) == null) {
            String why = readResource(FORWARDER_NOT_BUILT);
            return new CublasSetup(false, false, "libcublas.so.12 not found; libcublas.so.13 is at " + p13
                    + " but the forwarding library was not built" + (why == null ? "" : " (" + why + ")"));
        }
        // Load the real library by absolute path first: the forwarder's dlopen("libcublas.so.13")
        // then finds it by soname even when its directory is not on the loader's search path.
        // libcublas.so.13 NEEDs libcublasLt.so.13 from the same folder, which may not be on the
        // loader's search path either: load it first when it is there.
        Path lt = p13.toAbsolutePath().getParent().resolve("libcublasLt.so.13");
        if (Files.isRegularFile(lt) && loadedFrom("libcublasLt.so") == null) System.load(lt.toString());
        System.load(p13.toAbsolutePath().toString());
        Path fwd = extractResource(FORWARDER_RESOURCE, "libcublas.so.12");
        System.load(fwd.toString());
        return new CublasSetup(true, true, "libcublas.so.12 forwarded to " + p13 + " by " + fwd);
    }

    /** libcublas.so.13 named by -Dfishleg.cublas13.path or FISHLEG_CUBLAS13_PATH (file or directory), else null. */
    static Path explicitCublas13() {
        String v = System.getProperty(CUBLAS13_PROPERTY);
        if (v == null || v.isBlank()) v = System.getenv(CUBLAS13_ENV);
        if (v == null || v.isBlank()) return null;
        Path p = Path.of(v.trim());
        if (Files.isDirectory(p)) p = p.resolve("libcublas.so.13");
        return Files.isRegularFile(p) ? p : null;
    }

    /**
     * Finds a library by file name (soname) like the dynamic loader: LD_LIBRARY_PATH, then the
     * ld.so cache, then java.library.path and the usual CUDA/system directories. Null if absent.
     */
    public static Path findLibrary(String soname) {
        for (String dir : split(System.getenv("LD_LIBRARY_PATH"))) {
            Path p = Path.of(dir, soname);
            if (Files.isRegularFile(p)) return p;
        }
        Path cached = ldconfigLookup(soname);
        if (cached != null) return cached;
        Set<String> dirs = new LinkedHashSet<>(split(System.getProperty("java.library.path")));
        for (String env : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
            String h = System.getenv(env);
            if (h != null && !h.isBlank()) {
                dirs.add(h + "/lib64");
                dirs.add(h + "/targets/x86_64-linux/lib");
            }
        }
        dirs.addAll(Arrays.asList("/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib",
                "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib/wsl/lib"));
        for (String dir : dirs) {
            Path p = Path.of(dir, soname);
            if (Files.isRegularFile(p)) return p;
        }
        return null;
    }

    private static List<String> ldconfigCache;

    private static synchronized Path ldconfigLookup(String soname) {
        if (ldconfigCache == null) {
            ldconfigCache = new ArrayList<>();
            for (String exe : new String[] {"/sbin/ldconfig", "/usr/sbin/ldconfig", "/sbin/ldconfig.real"}) {
                if (!Files.isExecutable(Path.of(exe))) continue;
                try {
                    Process pr = new ProcessBuilder(exe, "-p").redirectErrorStream(true).start();
                    byte[] out = pr.getInputStream().readAllBytes();
                    pr.waitFor(5, TimeUnit.SECONDS);
                    ldconfigCache.addAll(Arrays.asList(new String(out, StandardCharsets.UTF_8).split("\n")));
                    break;
                } catch (IOException e) {
                    // try the next one
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        for (String line : ldconfigCache) {
            String t = line.trim();
            if (!t.startsWith(soname + " ")) continue;
            if (t.contains("(") && !t.contains("x86-64")) continue; // another ABI (e.g. i386)
            int arrow = t.indexOf("=> ");
            if (arrow < 0) continue;
            Path p = Path.of(t.substring(arrow + 3).trim());
            if (Files.exists(p)) return p;
        }
        return null;
    }

    /** The file a library whose path contains {@code namePart} was mapped from in this process, or null. */
    public static String loadedFrom(String namePart) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"), StandardCharsets.UTF_8)) {
                int slash = line.indexOf('/');
                if (slash < 0) continue;
                String path = line.substring(slash).trim();
                String file = path.substring(path.lastIndexOf('/') + 1);
                if (file.contains(namePart)) return path;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: unknown
        }
        return null;
    }

    /**
     * Copies a classpath resource into this JVM's native directory (under java.io.tmpdir, private to
     * the user) and returns its absolute path; rewrites the file only when its content differs.
     */
    static Path extractResource(String resource, String fileName) {
        try (InputStream in = NativeLibs.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("resource " + resource + " missing");
            byte[] bytes = in.readAllBytes();
            Path dir = nativeDir();
            Path target = dir.resolve(fileName);
            if (Files.isRegularFile(target) && Arrays.equals(Files.readAllBytes(target), bytes)) return target.toAbsolutePath();
            Path tmp = Files.createTempFile(dir, fileName, ".tmp");
            Files.write(tmp, bytes);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return target.toAbsolutePath();
        } catch (IOException e) {
            throw new IllegalStateException("cannot extract " + resource + ": " + e.getMessage(), e);
        }
    }

    static Path nativeDir() throws IOException {
        String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9_.-]", "_");
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "fishleg-natives-" + user);
        Files.createDirectories(dir);
        return dir;
    }

    static String readResource(String resource) {
        try (InputStream in = NativeLibs.class.getResourceAsStream(resource)) {
            if (in == null) return null;
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return null;
        }
    }

    private static List<String> split(String path) {
        List<String> out = new ArrayList<>();
        if (path == null) return out;
        for (String s : path.split(":")) if (!s.isBlank()) out.add(s);
        return out;
    }

    /**
     * One line for a native-loading failure: JCuda's UnsatisfiedLinkError carries two stack traces;
     * the useful part is "libX.so.N: cannot open shared object file" or "undefined symbol".
     */
    static String oneLine(Throwable t) {
        String m = String.valueOf(t.getMessage());
        java.util.regex.Matcher cannot = java.util.regex.Pattern
                .compile("(lib[A-Za-z0-9_.+-]+\\.so[0-9.]*): cannot open shared object file").matcher(m);
        if (cannot.find()) return cannot.group(1) + " not found";
        java.util.regex.Matcher undef = java.util.regex.Pattern.compile("undefined symbol: ?([A-Za-z0-9_]+)").matcher(m);
        if (undef.find()) return "undefined symbol " + undef.group(1);
        if (m.contains("No resource found")) {
            java.util.regex.Matcher res = java.util.regex.Pattern.compile("No resource found with name '([^']+)'").matcher(m);
            return "native library resource " + (res.find() ? res.group(1) : "") + " not found";
        }
        String first = m.split("\n", 2)[0].trim();
        String cls = t.getClass().getSimpleName();
        return (first.isEmpty() || first.equals("null")) ? cls : cls + ": " + first;
    }

    static String lower(String s) { return s.toLowerCase(Locale.ROOT); }
}
