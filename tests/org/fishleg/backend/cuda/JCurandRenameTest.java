package org.fishleg.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * JCurand 11.8.0 beside jcuda 12.6.0 asks for native library JCurand-12.6.0-linux-x86_64; the build
 * ships the 11.8.0 library under that name (classpath resource lib/libJCurand-12.6.0-linux-x86_64.so).
 */
class JCurandRenameTest {

    @Test
    void renamedNativeLibraryIsOnTheClasspath() {
        assertNotNull(getClass().getResource("/lib/libJCurand-" + jcuda.JCudaVersion.get() + "-linux-x86_64.so"),
                "lib/libJCurand-" + jcuda.JCudaVersion.get() + "-linux-x86_64.so (copied from the jcurand-natives jar at build time)");
    }

    @Test
    void jcurandLoadsAgainstStubLibcurand10() throws Exception {
        Path stub = NativeStubs.build("libcurand10-stub", "libcurand.so.10", NativeStubs.LIBCURAND10_C, "libcurand.so.10");
        NativeStubs.Result r = NativeStubs.runChild("curand", CurandChild.class,
                Map.of("LD_LIBRARY_PATH", stub.getParent().toString()), List.of());
        assertEquals(0, r.exit, r.toString());
        assertTrue(r.output.contains("CURAND=10.3.99 (libcurand.so.10 from " + stub + ", JCurand from "), r.toString());
        assertTrue(r.output.contains("libJCurand-" + jcuda.JCudaVersion.get() + "-linux-x86_64.so)"), r.toString());
    }

    @Test
    void withoutLibcurandTheReasonNamesIt() throws Exception {
        Assumptions.assumeTrue(NativeLibs.findLibrary("libcurand.so.10") == null, "this host has libcurand.so.10");
        NativeStubs.Result r = NativeStubs.runChild("nocurand", CurandChild.class, Map.of(), List.of());
        assertEquals(0, r.exit, r.toString());
        assertTrue(r.output.contains("CURAND=not loaded (libcurand.so.10 not found)"), r.toString());
    }
}
