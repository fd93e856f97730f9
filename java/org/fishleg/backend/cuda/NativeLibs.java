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
import org.fishleg.backend.BackendException;
import org.fishleg.backend.BackendOptions;

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
final class NativeLibs {
    /** Classpath resource of the forwarding library (soname libcublas.so.12). */
    public static final String FORWARDER_RESOURCE = "/org/fishleg/cuda/native/libcublas.so.12";
    static final String FORWARDER_NOT_BUILT = "/org/fishleg/cuda/native/forwarder-not-built.txt";
    /** Path of libcublas.so.13 (file, or a directory holding it): {@link BackendOptions#CUBLAS13_PROPERTY}. */
    public static final String CUBLAS13_PROPERTY = BackendOptions.CUBLAS13_PROPERTY;
    /** Environment twin of {@link #CUBLAS13_PROPERTY}. */
    public static final String CUBLAS13_ENV = BackendOptions.CUBLAS13_ENV;

    private NativeLibs() {}

    /** Result of preparing cuBLAS linkage: ok or a one-line failure, and one line of detail. */
    public static final class CublasSetup {
        /** True when cuBLAS can be loaded. */
        public final boolean ok;
        /** True when libcublas.so.12 is the bundled forwarder to libcublas.so.13. */
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
    public static CublasSetup prepareCublas() {
        BackendOptions o;
        try {
            o = BackendOptions.fromEnvironment();
        } catch (BackendException e) {
            return new CublasSetup(false, false, "cuBLAS setup failed: " + e.getMessage());
        }
        return prepareCublas(o);
    }

    /**
     * {@link #prepareCublas()} with libcublas.so.13 from {@code options.cublas13Path()} when set. The first
     * call of the JVM decides; later calls return its result. Never throws.
     */
    public static synchronized CublasSetup prepareCublas(BackendOptions options) {
        if (cublasSetup == null) {
            try {
                cublasSetup = doPrepareCublas(options.cublas13Path());
            } catch (RuntimeException | LinkageError e) {
                cublasSetup = new CublasSetup(false, false, "cuBLAS setup failed: " + oneLine(e));
            }
        }
        return cublasSetup;
    }

    private static CublasSetup doPrepareCublas(Path cublas13) {
        String loaded12 = loadedFrom("libcublas.so.12");
        if (loaded12 != null) return new CublasSetup(true, false, "libcublas.so.12 (already loaded) from " + loaded12);
        Path p12 = findLibrary("libcublas.so.12");
        if (p12 != null) {
            String from = preload("libcublas.so.12", "libcublasLt.so.12");
            return new CublasSetup(true, false, "libcublas.so.12 from " + (from != null ? from : p12));
        }

        Path p13 = explicitCublas13(cublas13);
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

    /**
     * libcublas.so.13 named by {@code configured} (-Dfishleg.cublas13.path or FISHLEG_CUBLAS13_PATH, a file or
     * directory), else null.
     */
    static Path explicitCublas13(Path configured) {
        if (configured == null) return null;
        Path p = configured;
        if (Files.isDirectory(p)) p = p.resolve("libcublas.so.13");
        return Files.isRegularFile(p) ? p : null;
    }

    /**
     * Directories named by -Dfishleg.cuda.libPath or FISHLEG_CUDA_LIB_PATH (colon-separated), searched first:
     * {@link BackendOptions#CUDA_LIB_PATH_PROPERTY}.
     */
    public static final String LIB_PATH_PROPERTY = BackendOptions.CUDA_LIB_PATH_PROPERTY;
    /** Environment twin of {@link #LIB_PATH_PROPERTY}. */
    public static final String LIB_PATH_ENV = BackendOptions.CUDA_LIB_PATH_ENV;

    /** A folder where CUDA libraries are looked for, and why it is on the list. */
    public record SearchDir(Path dir, String origin) {}

    /**
     * Where {@link #findLibrary} looks, in order (the ld.so cache is consulted after LD_LIBRARY_PATH):
     * FISHLEG_CUDA_LIB_PATH, LD_LIBRARY_PATH, java.library.path, CUDA_HOME / CUDA_PATH, /usr/local/cuda
     * (lib64 and targets/x86_64-linux/lib), the driver folders of GPU containers (/usr/local/nvidia/lib64,
     * /usr/local/nvidia/lib), the system library folders, and last the nvidia/NAME/lib folders of Python
     * site-packages (the nvidia-cublas / nvidia-curand wheels that PyTorch, JAX or CuPy install keep
     * libcublas.so.13 only there): those of VIRTUAL_ENV, CONDA_PREFIX, PYTHONPATH, every python3 / python on
     * PATH (its bin/..), ~/.local, /usr/local, /usr and /opt/conda.
     */
    public static List<SearchDir> searchDirs() {
        return searchDirs(System.getenv(), System.getProperties());
    }

    static List<SearchDir> searchDirs(java.util.Map<String, String> env, java.util.Properties props) {
        return searchDirs(BackendOptions.from(env, BackendOptions.properties(props)).cudaLibPath(), env, props);
    }

    /** {@link #searchDirs()} with {@code explicit} (the option {@link BackendOptions#cudaLibPath()}) searched first. */
    static List<SearchDir> searchDirs(String explicit, java.util.Map<String, String> env, java.util.Properties props) {
        List<SearchDir> out = new ArrayList<>();
        for (String d : split(explicit)) out.add(new SearchDir(Path.of(d), LIB_PATH_ENV));
        for (String d : split(env.get("LD_LIBRARY_PATH"))) out.add(new SearchDir(Path.of(d), "LD_LIBRARY_PATH"));
        for (String d : split(props.getProperty("java.library.path"))) out.add(new SearchDir(Path.of(d), "java.library.path"));
        for (String var : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
            String h = env.get(var);
            if (h == null || h.isBlank()) continue;
            out.add(new SearchDir(Path.of(h, "lib64"), var));
            out.add(new SearchDir(Path.of(h, "targets", "x86_64-linux", "lib"), var));
        }
        for (String d : new String[] {"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"})
            out.add(new SearchDir(Path.of(d), "CUDA toolkit"));
        for (String d : new String[] {"/usr/local/nvidia/lib64", "/usr/local/nvidia/lib"})
            out.add(new SearchDir(Path.of(d), "NVIDIA container driver"));
        for (String d : new String[] {"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib/wsl/lib"})
            out.add(new SearchDir(Path.of(d), "system"));
        for (Path site : sitePackages(env, props))
            for (Path lib : nvidiaLibDirs(site)) out.add(new SearchDir(lib, "Python site-packages"));
        // the same folder twice only counts where it first appears
        Set<Path> seen = new java.util.HashSet<>();
        out.removeIf(sd -> !seen.add(sd.dir().toAbsolutePath().normalize()));
        return out;
    }

    /** Existing Python site-packages / dist-packages folders, in the order {@link #searchDirs} states. */
    static List<Path> sitePackages(java.util.Map<String, String> env, java.util.Properties props) {
        Set<Path> out = new LinkedHashSet<>();
        List<Path> prefixes = new ArrayList<>();
        for (String var : new String[] {"VIRTUAL_ENV", "CONDA_PREFIX"}) {
            String v = env.get(var);
            if (v != null && !v.isBlank()) prefixes.add(Path.of(v));
        }
        // the environment the user activated comes first, then PYTHONPATH, then the interpreters on PATH
        for (Path prefix : prefixes) out.addAll(sitePackagesUnder(prefix));
        prefixes.clear();
        for (String d : split(env.get("PYTHONPATH"))) {
            Path p = Path.of(d);
            if (Files.isDirectory(p)) out.add(p);
        }
        for (String d : split(env.get("PATH"))) {
            for (String exe : new String[] {"python3", "python"}) {
                Path py = Path.of(d, exe);
                if (Files.isRegularFile(py) || Files.isSymbolicLink(py)) {
                    Path parent = Path.of(d).toAbsolutePath().getParent();
                    if (parent != null) prefixes.add(parent);
                    break;
                }
            }
        }
        String home = props.getProperty("user.home");
        if (home != null && !home.isBlank()) prefixes.add(Path.of(home, ".local"));
        prefixes.add(Path.of("/usr/local"));
        prefixes.add(Path.of("/usr"));
        prefixes.add(Path.of("/opt/conda"));
        for (Path prefix : prefixes) out.addAll(sitePackagesUnder(prefix));
        return new ArrayList<>(out);
    }

    /** PREFIX/lib{,64}/python3.STAR/{site,dist}-packages that exist, newest Python first. */
    private static List<Path> sitePackagesUnder(Path prefix) {
        List<Path> out = new ArrayList<>();
        for (String lib : new String[] {"lib", "lib64"}) {
            Path libDir = prefix.resolve(lib);
            if (!Files.isDirectory(libDir)) continue;
            List<Path> pythons = new ArrayList<>();
            try (java.util.stream.Stream<Path> st = Files.list(libDir)) {
                st.filter(x -> x.getFileName().toString().startsWith("python3")).sorted(java.util.Comparator.reverseOrder())
                        .forEach(pythons::add);
            } catch (IOException | RuntimeException e) {
                continue;
            }
            for (Path py : pythons)
                for (String sp : new String[] {"site-packages", "dist-packages"})
                    if (Files.isDirectory(py.resolve(sp))) out.add(py.resolve(sp));
        }
        return out;
    }

    /** site/nvidia/NAME/lib folders (cu13 is the CUDA 13 wheels' shared one; cublas, curand, ... the CUDA 12 ones). */
    private static List<Path> nvidiaLibDirs(Path site) {
        List<Path> out = new ArrayList<>();
        Path nv = site.resolve("nvidia");
        if (!Files.isDirectory(nv)) return out;
        try (java.util.stream.Stream<Path> st = Files.list(nv)) {
            st.map(x -> x.resolve("lib")).filter(Files::isDirectory).sorted().forEach(out::add);
        } catch (IOException | RuntimeException e) {
            // unreadable: nothing from it
        }
        return out;
    }

    /**
     * Finds a library by file name (soname): {@link #searchDirs} in order, with the ld.so cache consulted
     * right after LD_LIBRARY_PATH, as the dynamic loader would. Null if absent.
     */
    public static Path findLibrary(String soname) {
        boolean cacheDone = false;
        for (SearchDir sd : searchDirs()) {
            if (!cacheDone && !sd.origin().equals(LIB_PATH_ENV) && !sd.origin().equals("LD_LIBRARY_PATH")) {
                cacheDone = true;
                Path cached = ldconfigLookup(soname);
                if (cached != null) return cached;
            }
            Path p = sd.dir().resolve(soname);
            if (Files.isRegularFile(p)) return p;
        }
        return cacheDone ? null : ldconfigLookup(soname);
    }

    /** One line for `fishleg info`: where CUDA libraries are looked for (the folders that exist). */
    public static String searchSummary(BackendOptions options) {
        java.util.Map<String, List<String>> byOrigin = new java.util.LinkedHashMap<>();
        for (SearchDir sd : searchDirs(options.cudaLibPath(), System.getenv(), System.getProperties())) {
            if (!Files.isDirectory(sd.dir()) || sd.origin().equals("Python site-packages")) continue;
            byOrigin.computeIfAbsent(sd.origin(), k -> new ArrayList<>()).add(sd.dir().toString());
        }
        StringBuilder b = new StringBuilder("CUDA libraries looked for in: ");
        boolean first = true, cache = false;
        for (var e : byOrigin.entrySet()) {
            if (!cache && !e.getKey().equals(LIB_PATH_ENV) && !e.getKey().equals("LD_LIBRARY_PATH")) {
                b.append(first ? "" : "; ").append("the ld.so cache");
                first = false;
                cache = true;
            }
            b.append(first ? "" : "; ").append(e.getKey()).append(' ').append(String.join(":", e.getValue()));
            first = false;
        }
        if (!cache) b.append(first ? "" : "; ").append("the ld.so cache");
        List<Path> sites = sitePackages(System.getenv(), System.getProperties());
        b.append("; nvidia/*/lib of the Python site-packages ").append(sites.isEmpty() ? "(none found)" : sites.toString());
        return b.toString();
    }

    /**
     * Loads {@code soname} by absolute path from where {@link #findLibrary} finds it, unless a library of
     * that name is already mapped, so that a JNI library NEEDing it links against that file even when
     * its folder is not on the dynamic loader's path (e.g. /usr/local/nvidia/lib64 or site-packages).
     * Libraries named in {@code siblingsFirst} are loaded first from the same folder when present there
     * (libcublas.so.N NEEDs libcublasLt.so.N). Returns the file loaded or already mapped, or null when
     * the library is not found; never throws (a library that fails to load is left to JCuda to report).
     */
    static String preload(String soname, String... siblingsFirst) {
        String mapped = loadedFrom(soname);
        if (mapped != null) return mapped;
        Path p = findLibrary(soname);
        if (p == null) return null;
        try {
            Path dir = p.toAbsolutePath().getParent();
            for (String sib : siblingsFirst) {
                Path s = dir.resolve(sib);
                if (Files.isRegularFile(s) && loadedFrom(sib) == null) System.load(s.toString());
            }
            System.load(p.toAbsolutePath().toString());
        } catch (UnsatisfiedLinkError | SecurityException e) {
            return null;
        }
        return p.toAbsolutePath().toString();
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
     * Copies a classpath resource into the private native folder ({@link #nativeDir}) and returns the
     * file's absolute path: the file is (re)written when missing or different, then read back and
     * compared with the resource, so what gets loaded is byte for byte what the jar holds.
     */
    static Path extractResource(String resource, String fileName) {
        try (InputStream in = NativeLibs.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("resource " + resource + " missing");
            return extractVerified(in.readAllBytes(), nativeDir().resolve(fileName), resource);
        } catch (IOException e) {
            throw new IllegalStateException("cannot extract " + resource + ": " + e.getMessage(), e);
        }
    }

    private static Path extractVerified(byte[] bytes, Path target, String what) throws IOException {
        if (Files.isSymbolicLink(target) || (Files.exists(target) && !Files.isRegularFile(target))) Files.delete(target);
        if (!(Files.isRegularFile(target) && Arrays.equals(Files.readAllBytes(target), bytes))) {
            Path tmp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".tmp");
            try {
                Files.write(tmp, bytes);
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        if (!Arrays.equals(Files.readAllBytes(target), bytes))
            throw new IOException(target + " does not hold the bytes of " + what + " after writing it");
        return target.toAbsolutePath();
    }

    private static Path nativeDir;
    private static String nativeDirNote;

    /**
     * This user's private folder for native libraries: {java.io.tmpdir}/fishleg-natives-USER, a real
     * directory (not a link) owned by this process's user with mode 0700 (a wider mode of our own folder
     * is narrowed). If that name is taken by another user or is not a directory, a fresh 0700 folder with a
     * random name is used instead. Nobody else can therefore put or change a file in it between the check
     * of its bytes and its loading.
     */
    static synchronized Path nativeDir() throws IOException {
        if (nativeDir != null && Files.isDirectory(nativeDir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return nativeDir;
        String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9_.-]", "_");
        Path base = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath();
        Files.createDirectories(base);
        Path dir = base.resolve("fishleg-natives-" + user);
        java.util.Set<java.nio.file.attribute.PosixFilePermission> only700 =
                java.nio.file.attribute.PosixFilePermissions.fromString("rwx------");
        try {
            Files.createDirectory(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(only700));
        } catch (java.nio.file.FileAlreadyExistsException e) {
            // checked below
        } catch (UnsupportedOperationException e) {
            Files.createDirectories(dir); // not a POSIX file system: no modes to check
            nativeDir = dir;
            nativeDirNote = null;
            return dir;
        }
        String problem = privateDirProblem(dir);
        if (problem != null && problem.startsWith("mode ") && ownedByMe(dir)) {
            Files.setPosixFilePermissions(dir, only700);
            problem = privateDirProblem(dir);
        }
        if (problem != null) {
            Path fresh = Files.createTempDirectory(base, "fishleg-natives-" + user + "-",
                    java.nio.file.attribute.PosixFilePermissions.asFileAttribute(only700));
            nativeDirNote = dir + " not used (" + problem + "); natives in " + fresh;
            dir = fresh;
        } else {
            nativeDirNote = null;
        }
        nativeDir = dir;
        return dir;
    }

    /** Null when {@code dir} is a real directory owned by this process's user with mode 0700, else why not. */
    static String privateDirProblem(Path dir) throws IOException {
        if (Files.isSymbolicLink(dir)) return "a symbolic link";
        if (!Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return "not a directory";
        if (!ownedByMe(dir)) return "owned by " + Files.getOwner(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS).getName();
        var perms = Files.getPosixFilePermissions(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        if (!perms.equals(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")))
            return "mode " + java.nio.file.attribute.PosixFilePermissions.toString(perms) + ", not rwx------";
        return null;
    }

    private static boolean ownedByMe(Path p) throws IOException {
        try {
            Object mine = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            return mine.equals(Files.getAttribute(p, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS));
        } catch (UnsupportedOperationException | IllegalArgumentException | IOException e) {
            return Files.getOwner(p, java.nio.file.LinkOption.NOFOLLOW_LINKS).getName().equals(System.getProperty("user.name"));
        }
    }

    /** JCuda's JNI libraries, by base name: driver, runtime, cuBLAS, cuRAND (JCurand under the 12.6.0 name, see docs/GPU.md). */
    static final List<String> JCUDA_LIBRARIES = List.of("JCudaDriver", "JCudaRuntime", "JCublas2", "JCurand");

    private static boolean jcudaPrepared;
    private static String jcudaNativesLine;

    /**
     * Runs {@code firstTouch} (code that may load JCuda classes) so that JCuda's native libraries come from
     * the private folder. JCuda extracts each JNI library to {java.io.tmpdir}/libNAME-VERSION-linux-x86_64.so
     * and loads whatever file already has that name, which in a shared /tmp another user could plant. So:
     * every JCuda JNI library is written into {@link #nativeDir} and checked against the jar's bytes first,
     * and java.io.tmpdir names that folder while {@code firstTouch} runs (JCuda reads the property at each
     * load), so JCuda finds exactly the checked files. Reentrant; the property is restored afterwards.
     */
    static synchronized <T> T withPrivateNatives(java.util.function.Supplier<T> firstTouch) {
        Path dir;
        try {
            dir = nativeDir();
            if (!jcudaPrepared) {
                List<String> written = new ArrayList<>();
                String platform = "-" + jcuda.JCudaVersion.get() + "-linux-x86_64";
                for (String base : JCUDA_LIBRARIES) {
                    String file = "lib" + base + platform + ".so";
                    try (InputStream in = jcuda.LibUtils.class.getResourceAsStream("/lib/" + file)) {
                        if (in == null) continue; // JCuda will say what is missing
                        extractVerified(in.readAllBytes(), dir.resolve(file), "/lib/" + file);
                        written.add(base);
                    }
                }
                jcudaNativesLine = "JCuda natives: " + written + " checked against the jars in " + dir
                        + (nativeDirNote == null ? " (private, rwx------)" : " (" + nativeDirNote + ")");
                jcudaPrepared = true;
            }
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("cannot prepare JCuda's native libraries in a private folder: " + e.getMessage(), e);
        }
        String old = System.getProperty("java.io.tmpdir");
        if (dir.toString().equals(old)) return firstTouch.get();
        System.setProperty("java.io.tmpdir", dir.toString());
        try {
            return firstTouch.get();
        } finally {
            System.setProperty("java.io.tmpdir", old);
        }
    }

    /** One line for `fishleg info` on where JCuda's JNI libraries were checked and loaded from; null before any. */
    static synchronized String jcudaNativesLine() { return jcudaNativesLine; }

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
