package org.fishleg.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where the CUDA backend finds the NVIDIA libraries, and where JCuda's own JNI libraries come from:
 * <ul>
 *   <li>the search list holds the places real hosts keep CUDA (CUDA target folders, the driver folder
 *       of GPU containers, nvidia/NAME/lib of Python site-packages), found from the environment;</li>
 *   <li>a whole probe, in a child JVM with no LD_LIBRARY_PATH, finds stub libcuda.so.1, libcublas.so.13
 *       and libcurand.so.10 that exist only in a fake Python environment's site-packages (the way the
 *       nvidia-cublas / nvidia-curand wheels install them), loads them and goes through the forwarder;</li>
 *   <li>JCuda's JNI libraries are never loaded from the shared java.io.tmpdir: a library planted there
 *       under JCuda's fixed name is not loaded, the private folder is 0700 and its files are rewritten
 *       to the jar's bytes when they differ.</li>
 * </ul>
 */
class CudaLibrarySearchTest {

    private static String line(NativeStubs.Result r, String key) {
        for (String l : r.output.split("\n")) if (l.startsWith(key + "=")) return l.substring(key.length() + 1);
        throw new AssertionError("no " + key + "= line in child output:\n" + r);
    }

    private static String detail(NativeStubs.Result r, String prefix) {
        for (String l : r.output.split("\n")) if (l.startsWith("DETAIL=" + prefix)) return l.substring(7);
        throw new AssertionError("no detail starting with '" + prefix + "' in child output:\n" + r);
    }

    /** A fake Python environment: PREFIX/bin/python3 and PREFIX/lib/python3.12/site-packages/nvidia/{cu13,curand}/lib. */
    private static Path fakePython(Path prefix) throws IOException {
        Files.createDirectories(prefix.resolve("bin"));
        Path py = prefix.resolve("bin/python3");
        Files.writeString(py, "#!/bin/sh\nexit 1\n");
        py.toFile().setExecutable(true);
        Path site = prefix.resolve("lib/python3.12/site-packages");
        Files.createDirectories(site.resolve("nvidia/cu13/lib"));
        Files.createDirectories(site.resolve("nvidia/curand/lib"));
        Files.createDirectories(site.resolve("nvidia/no-lib-here"));
        return site;
    }

    @Test
    void searchListCoversWhereRealHostsKeepCuda(@TempDir Path tmp) throws IOException {
        Path venvSite = fakePython(tmp.resolve("venv"));
        Path pathSite = fakePython(tmp.resolve("opt/torch/.venv"));
        Path pp = tmp.resolve("pythonpath-site");
        Files.createDirectories(pp.resolve("nvidia/cublas/lib"));
        Map<String, String> env = new HashMap<>();
        env.put("VIRTUAL_ENV", tmp.resolve("venv").toString());
        env.put("PATH", "/nonexistent/bin:" + tmp.resolve("opt/torch/.venv/bin"));
        env.put("PYTHONPATH", pp.toString());
        env.put("LD_LIBRARY_PATH", "/ld/one:/ld/two");
        env.put("CUDA_HOME", "/opt/cuda-12.9");
        env.put(NativeLibs.LIB_PATH_ENV, "/explicit");
        Properties props = new Properties();
        props.setProperty("java.library.path", "/jlp");
        props.setProperty("user.home", tmp.resolve("home").toString());

        List<String> dirs = new ArrayList<>();
        for (NativeLibs.SearchDir sd : NativeLibs.searchDirs(env, props)) dirs.add(sd.dir().toString());
        List<String> expectedInOrder = List.of("/explicit", "/ld/one", "/ld/two", "/jlp", "/opt/cuda-12.9/lib64",
                "/opt/cuda-12.9/targets/x86_64-linux/lib", "/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib",
                "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib/x86_64-linux-gnu",
                venvSite.resolve("nvidia/cu13/lib").toString(), venvSite.resolve("nvidia/curand/lib").toString(),
                pp.resolve("nvidia/cublas/lib").toString(),
                pathSite.resolve("nvidia/cu13/lib").toString(), pathSite.resolve("nvidia/curand/lib").toString());
        int last = -1;
        for (String d : expectedInOrder) {
            int i = dirs.indexOf(d);
            assertTrue(i > last, d + " missing or out of order in " + dirs);
            last = i;
        }
        assertFalse(dirs.contains(venvSite.resolve("nvidia/no-lib-here/lib").toString()), "only existing lib folders");
        assertEquals(dirs.size(), new java.util.HashSet<>(dirs).size(), "no folder twice: " + dirs);
    }

    /**
     * The device machine's layout: python3 on PATH from a virtual environment whose site-packages hold
     * the CUDA 13 libraries; no LD_LIBRARY_PATH. The stub driver reports one cc 9.0 device.
     */
    @Test
    void probeFindsDriverCublasAndCurandInPythonSitePackages(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(NativeLibs.findLibrary("libcuda.so.1") == null && NativeLibs.findLibrary("libcublas.so.12") == null
                && NativeLibs.findLibrary("libcublas.so.13") == null && NativeLibs.findLibrary("libcurand.so.10") == null,
                "this host has NVIDIA libraries of its own: the stubs would not be the ones found");
        Assumptions.assumeTrue(NativeLibs.class.getResource(NativeLibs.FORWARDER_RESOURCE) != null,
                "forwarding library not built (gcc/objdump missing at build time)");
        Path cuda = NativeStubs.build("libcuda-stub", "libcuda.so.1", NativeStubs.LIBCUDA_C);
        Path cublas = NativeStubs.build("libcublas13-stub", "libcublas.so.13", NativeStubs.LIBCUBLAS13_C);
        Path curand = NativeStubs.build("libcurand10-stub", "libcurand.so.10", NativeStubs.LIBCURAND10_C, "libcurand.so.10");
        Path site = fakePython(tmp.resolve("opt/torch/.venv"));
        Path cu13 = site.resolve("nvidia/cu13/lib"), curandDir = site.resolve("nvidia/curand/lib");
        Files.copy(cuda, cu13.resolve("libcuda.so.1"));
        Files.copy(cublas, cu13.resolve("libcublas.so.13"));
        Files.copy(curand, curandDir.resolve("libcurand.so.10"));
        Path fatbin = NativeStubs.workDir().resolve("dummy.fatbin");
        Files.write(fatbin, new byte[] {1, 2, 3, 4});

        Map<String, String> env = new HashMap<>();
        env.put("PATH", tmp.resolve("opt/torch/.venv/bin") + ":" + System.getenv("PATH"));
        env.put("LD_LIBRARY_PATH", "");
        env.put("STUB_CUDA_MODE", "device");
        NativeStubs.Result r = NativeStubs.runChild("sitepackages", ProbeChild.class, env,
                List.of("-D" + Kernels.FATBIN_PROPERTY + "=" + fatbin));
        assertEquals(0, r.exit, r.toString());
        assertTrue(line(r, "REASON").startsWith("kernels failed to load on FishLeg Stub GPU: CUDA_ERROR_INVALID_IMAGE"), r.toString());
        assertTrue(detail(r, "CUDA libraries looked for in: ").contains(site.toString()), r.toString());
        assertTrue(detail(r, "driver: ").startsWith("driver: libcuda.so.1 from " + cu13.resolve("libcuda.so.1")), r.toString());
        assertTrue(detail(r, "cuBLAS ").startsWith("cuBLAS 13.0.1: libcublas.so.12 forwarded to " + cu13.resolve("libcublas.so.13")), r.toString());
        assertTrue(detail(r, "cuRAND: ").startsWith("cuRAND: 10.3.99 (libcurand.so.10 from " + curandDir.resolve("libcurand.so.10")), r.toString());
    }

    /** A library that writes a marker file when loaded, planted under JCuda's fixed extraction name. */
    private static final String PLANTED_C = """
            #include <stdio.h>
            #include <stdlib.h>
            __attribute__((constructor)) static void planted(void) {
                const char *m = getenv("PLANT_MARKER");
                if (m) { FILE *f = fopen(m, "w"); if (f) { fputs("loaded\\n", f); fclose(f); } }
            }
            """;

    @Test
    void jcudaNativesComeOnlyFromThePrivateCheckedFolder() throws Exception {
        Path cuda = NativeStubs.build("libcuda-stub", "libcuda.so.1", NativeStubs.LIBCUDA_C);
        Path planted = NativeStubs.build("planted-jni", "libplanted.so", PLANTED_C);
        Path tmp = NativeStubs.workDir().resolve("jvm-planted");
        deleteTree(tmp);
        Files.createDirectories(tmp);
        String version = jcuda.JCudaVersion.get();
        String driverFile = "libJCudaDriver-" + version + "-linux-x86_64.so";
        String cublasFile = "libJCublas2-" + version + "-linux-x86_64.so";
        // what another user could leave in a shared /tmp
        Files.copy(planted, tmp.resolve(driverFile));
        // our own folder, left too open, with a file that is not the jar's
        String user = System.getProperty("user.name").replaceAll("[^A-Za-z0-9_.-]", "_");
        Path priv = tmp.resolve("fishleg-natives-" + user);
        Files.createDirectories(priv);
        Files.setPosixFilePermissions(priv, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.write(priv.resolve(cublasFile), new byte[] {0x7f, 'E', 'L', 'F', 0});
        Path marker = NativeStubs.workDir().resolve("planted-marker");
        Files.deleteIfExists(marker);

        NativeStubs.Result r = NativeStubs.runChild("planted", ProbeChild.class,
                Map.of("LD_LIBRARY_PATH", cuda.getParent().toString(), "STUB_CUDA_MODE", "nodevice", "PLANT_MARKER", marker.toString()),
                List.of());
        assertEquals(0, r.exit, r.toString());
        assertEquals("cuInit: CUDA_ERROR_NO_DEVICE", line(r, "REASON"), "JCudaDriver loaded and answered: " + r);
        assertFalse(Files.exists(marker), "the library planted in java.io.tmpdir was loaded:\n" + r);
        assertEquals("JCudaDriver loaded from " + priv.resolve(driverFile), detail(r, "JCudaDriver loaded from "), r.toString());
        assertTrue(detail(r, "JCuda natives: ").contains("checked against the jars in " + priv + " (private, rwx------)"), r.toString());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(priv)), "the folder is narrowed to 0700");
        try (InputStream in = jcuda.LibUtils.class.getResourceAsStream("/lib/" + cublasFile)) {
            assertArrayEquals(in.readAllBytes(), Files.readAllBytes(priv.resolve(cublasFile)), "a differing file is rewritten to the jar's bytes");
        }
    }

    @Test
    void aPrivateFolderNameTakenByAnotherUserIsNotUsed() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root to give a folder to another user");
        Path cuda = NativeStubs.build("libcuda-stub", "libcuda.so.1", NativeStubs.LIBCUDA_C);
        Path tmp = NativeStubs.workDir().resolve("jvm-taken");
        deleteTree(tmp);
        Path taken = tmp.resolve("fishleg-natives-root");
        Files.createDirectories(taken);
        Files.setPosixFilePermissions(taken, PosixFilePermissions.fromString("rwx------"));
        Files.setOwner(taken, taken.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody"));

        NativeStubs.Result r = NativeStubs.runChild("taken", ProbeChild.class,
                Map.of("LD_LIBRARY_PATH", cuda.getParent().toString(), "STUB_CUDA_MODE", "nodevice"), List.of());
        assertEquals("cuInit: CUDA_ERROR_NO_DEVICE", line(r, "REASON"), r.toString());
        String jc = detail(r, "JCuda natives: ");
        assertTrue(jc.contains(taken + " not used (owned by nobody); natives in " + tmp.resolve("fishleg-natives-root-")), r.toString());
        assertFalse(detail(r, "JCudaDriver loaded from ").contains(taken + "/"), r.toString());
        try (var st = Files.list(taken)) {
            assertEquals(0, st.count(), "nothing written into the other user's folder");
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        try (var st = Files.walk(p)) {
            for (Path x : st.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(x);
        }
    }
}
