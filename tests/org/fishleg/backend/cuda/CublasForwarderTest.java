package org.fishleg.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The CUDA 13 mechanism from Java: JCublas2 12.6.0 (which NEEDs libcublas.so.12 with versioned
 * symbols) runs against a STUB libcublas.so.13 through the forwarding library built from
 * native/cublas-forward. Also checks the row-major GEMM mapping numerically (the stub computes).
 */
class CublasForwarderTest {

    @BeforeAll
    static void needForwarder() {
        Assumptions.assumeTrue(NativeLibs.class.getResource(NativeLibs.FORWARDER_RESOURCE) != null,
                "forwarding library not built (gcc/objdump missing at build time)");
        Assumptions.assumeTrue(NativeLibs.findLibrary("libcublas.so.12") == null,
                "this host has libcublas.so.12, so JCublas2 would bind to it instead of the forwarder");
    }

    private static List<String> lines(String out, String key) {
        List<String> r = new ArrayList<>();
        for (String l : out.split("\n")) if (l.startsWith(key + "=")) r.add(l.substring(key.length() + 1));
        return r;
    }

    @Test
    void forwarderLibraryHasSonameAndVersionNode() throws Exception {
        Assumptions.assumeTrue(NativeStubs.haveGcc(), "binutils not checked without a toolchain");
        Path fwd = NativeLibs.extractResource(NativeLibs.FORWARDER_RESOURCE, "libcublas.so.12");
        NativeStubs.Result d = NativeStubs.exec(List.of("readelf", "-d", "-V", fwd.toString()), Map.of(), 30);
        assertTrue(d.output.contains("Library soname: [libcublas.so.12]"), d.output);
        assertTrue(d.output.contains("Name: libcublas.so.12"), "version definition node libcublas.so.12:\n" + d.output);
        NativeStubs.Result t = NativeStubs.exec(List.of("objdump", "-T", fwd.toString()), Map.of(), 30);
        long exported = t.output.lines().filter(l -> l.contains(" libcublas.so.12 ") && l.contains(".text")).count();
        assertTrue(exported >= 400, "expected ~494 cuBLAS trampolines with version libcublas.so.12, got " + exported);
        assertTrue(t.output.contains("cublasSgemm_v2"), "cublasSgemm_v2 exported");
    }

    @Test
    void jcublas2ReachesStubCublas13WithAllSgemmArgumentsIntact() throws Exception {
        Path stub = NativeStubs.build("libcublas13-stub", "libcublas.so.13", NativeStubs.LIBCUBLAS13_C);
        Path log = NativeStubs.workDir().resolve("cublas-gemm.log");
        Files.deleteIfExists(log);
        // libcublas.so.13 named by FISHLEG_CUBLAS13_PATH (a directory), not on LD_LIBRARY_PATH
        NativeStubs.Result r = NativeStubs.runChild("fwdgemm", ForwarderChild.class,
                Map.of("FISHLEG_CUBLAS13_PATH", stub.getParent().toString(), "STUB_CUBLAS_LOG", log.toString()),
                List.of(), "gemm");
        assertEquals(0, r.exit, r.toString());
        assertEquals("true", lines(r.output, "FORWARDED").get(0), r.toString());
        assertEquals("0", lines(r.output, "CREATE").get(0), r.toString());
        assertEquals("0 130001", lines(r.output, "GETVERSION").get(0), r.toString());
        assertEquals("4", lines(r.output, "GEMM_OK").get(0), "row-major results for all transpose combinations:\n" + r);
        List<String> recorded = new ArrayList<>();
        for (String l : Files.readAllLines(log, StandardCharsets.UTF_8)) if (l.startsWith("cublasSgemm_v2 ")) recorded.add(l);
        assertEquals(lines(r.output, "EXPECT"), recorded, "the 14 cublasSgemm arguments as the stub received them");
    }

    @Test
    void systemPropertyNamesCublas13() throws Exception {
        Path stub = NativeStubs.build("libcublas13-stub", "libcublas.so.13", NativeStubs.LIBCUBLAS13_C);
        NativeStubs.Result r = NativeStubs.runChild("fwdprop", ForwarderChild.class, Map.of("STUB_CUBLAS_NO_COMPUTE", "1"),
                List.of("-D" + NativeLibs.CUBLAS13_PROPERTY + "=" + stub), "gemm");
        assertEquals(0, r.exit, r.toString());
        assertEquals("true", lines(r.output, "FORWARDED").get(0), r.toString());
        assertTrue(lines(r.output, "DETAIL").get(0).startsWith("libcublas.so.12 forwarded to " + stub), r.toString());
        assertEquals("0 130001", lines(r.output, "GETVERSION").get(0), r.toString());
    }

    @Test
    void functionMissingFromCublas13AbortsWithItsName() throws Exception {
        Path stub = NativeStubs.build("libcublas13-stub", "libcublas.so.13", NativeStubs.LIBCUBLAS13_C);
        NativeStubs.Result r = NativeStubs.runChild("fwdmissing", ForwarderChild.class,
                Map.of("FISHLEG_CUBLAS13_PATH", stub.toString()), List.of("-XX:-CreateCoredumpOnCrash"), "missing");
        assertNotEquals(0, r.exit, r.toString());
        assertTrue(r.output.contains("CALLING=cublasSdot"), r.toString());
        assertTrue(r.output.contains("cublasSdot_v2 is not available"), r.toString());
        assertTrue(!r.output.contains("RETURNED"), r.toString());
    }
}
