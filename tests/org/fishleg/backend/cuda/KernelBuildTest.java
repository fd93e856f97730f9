package org.fishleg.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The kernels fatbin: present on the classpath whenever nvcc was there at build time, holding every
 * kernel the backend launches, and ptxas reported no register spills and no stack for any kernel on
 * any architecture (the build already fails on a spill: -Xptxas -warn-spills -Werror).
 */
class KernelBuildTest {
    static final String[] ARCHS = {"sm_80", "sm_86", "sm_89", "sm_90"};

    static boolean nvccPresent() {
        List<String> dirs = new ArrayList<>(List.of(String.valueOf(System.getenv("PATH")).split(":")));
        for (String e : new String[] {"CUDA_HOME", "CUDA_PATH"})
            if (System.getenv(e) != null) dirs.add(System.getenv(e) + "/bin");
        dirs.add("/usr/local/cuda/bin");
        for (String d : dirs) if (!d.isEmpty() && Files.isExecutable(Path.of(d, "nvcc"))) return true;
        return false;
    }

    private static byte[] resource(String name) throws Exception {
        try (InputStream in = KernelBuildTest.class.getResourceAsStream(name)) {
            return in == null ? null : in.readAllBytes();
        }
    }

    private static void assumeKernelsExpected() {
        String notBuilt = NativeLibs.readResource(Kernels.NOT_BUILT_RESOURCE);
        Assumptions.assumeFalse(notBuilt != null && notBuilt.startsWith("skipped"), "kernels " + notBuilt);
        Assumptions.assumeTrue(nvccPresent() || notBuilt == null, "nvcc not found and kernels not built: " + notBuilt);
    }

    /** The classes that launch kernels: the backend and its op families (one per cuda/*.cuh). */
    static final String[] LAUNCHING_CLASSES = {"CudaBackend", "CudaElementwise", "CudaReduce", "CudaLikelihood", "CudaOptim", "CudaRandom"};

    /** Kernel names the backend launches, read from the class files of {@link #LAUNCHING_CLASSES} (string constants "fl_..."). */
    static TreeSet<String> launchedKernels() throws Exception {
        TreeSet<String> names = new TreeSet<>();
        for (String c : LAUNCHING_CLASSES) {
            byte[] cls = resource("/org/fishleg/backend/cuda/" + c + ".class");
            assertNotNull(cls, c + ".class");
            Matcher m = Pattern.compile("fl_[a-z0-9_]+").matcher(new String(cls, StandardCharsets.ISO_8859_1));
            while (m.find()) names.add(m.group());
        }
        return names;
    }

    @Test
    void fatbinIsBuiltWhenNvccIsPresent() throws Exception {
        assumeKernelsExpected();
        byte[] fatbin = resource(Kernels.FATBIN_RESOURCE);
        assertNotNull(fatbin, "nvcc is present but " + Kernels.FATBIN_RESOURCE + " is not on the classpath");
        assertTrue(fatbin.length > 10_000, "fatbin of " + fatbin.length + " bytes");
        String text = new String(fatbin, StandardCharsets.ISO_8859_1);
        TreeSet<String> launched = launchedKernels();
        assertTrue(launched.size() >= 20, "kernel names found in the CUDA backend's classes: " + launched);
        for (String k : launched) assertTrue(text.contains(k), "kernel " + k + " launched by CudaBackend is not in the fatbin");
        assertTrue(Kernels.ALL.containsAll(launched), "Kernels.ALL lacks a kernel CudaBackend launches: " + launched);
        assertEquals(null, NativeLibs.readResource(Kernels.NOT_BUILT_RESOURCE), "stale kernels-not-built.txt beside the fatbin");
    }

    @Test
    void ptxasReportsNoSpillsAndNoStack() throws Exception {
        assumeKernelsExpected();
        byte[] rep = resource(Kernels.PTXAS_REPORT_RESOURCE);
        assertNotNull(rep, "ptxas report missing");
        Map<String, String> props = parse(new String(rep, StandardCharsets.UTF_8));
        TreeSet<String> launched = launchedKernels();
        for (String k : launched)
            for (String arch : ARCHS) {
                String p = props.get(k + "@" + arch);
                assertNotNull(p, "no ptxas entry for " + k + " on " + arch);
                assertTrue(p.contains("0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads"), k + " on " + arch + ": " + p);
            }
        assertFalse(props.isEmpty());
        TreeSet<String> entries = new TreeSet<>();
        for (String k : props.keySet()) entries.add(k.substring(0, k.indexOf('@')));
        assertEquals(entries, new TreeSet<>(Kernels.ALL), "Kernels.ALL must list exactly the fatbin's kernels");
    }

    /** kernel@arch -> "N bytes stack frame, N bytes spill stores, N bytes spill loads | Used R registers ...". */
    static Map<String, String> parse(String report) {
        Map<String, String> out = new TreeMap<>();
        String current = null;
        String[] lines = report.split("\n");
        Pattern entry = Pattern.compile("Compiling entry function '([^']+)' for '([^']+)'");
        for (int i = 0; i < lines.length; i++) {
            Matcher m = entry.matcher(lines[i]);
            if (m.find()) { current = m.group(1) + "@" + m.group(2); out.put(current, ""); continue; }
            if (current == null) continue;
            String l = lines[i].trim();
            if (l.contains("bytes stack frame") || l.startsWith("ptxas info    : Used")) out.put(current, out.get(current) + l + " | ");
        }
        return out;
    }
}
