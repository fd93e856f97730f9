package org.fishleg.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * CudaSupport.probe() on hosts without a usable GPU, each in a child JVM: no driver library at
 * all, a driver whose cuInit says CUDA_ERROR_NO_DEVICE (stub libcuda.so.1), and a fake device
 * (stub) that lets the probe run on to the kernels and cuBLAS checks. The probe must never throw
 * and must give the one-line reasons `fishleg info` and `--backend auto` print.
 */
class CudaProbeTest {

    private static String line(NativeStubs.Result r, String key) {
        for (String l : r.output.split("\n")) if (l.startsWith(key + "=")) return l.substring(key.length() + 1);
        throw new AssertionError("no " + key + "= line in child output:\n" + r);
    }

    private static Map<String, String> env(String ldPath, String mode) {
        return Map.of("LD_LIBRARY_PATH", ldPath, "STUB_CUDA_MODE", mode, "FISHLEG_BACKEND", "auto");
    }

    @Test
    void noDriverLibraryMeansCpuWithOneLineReason() throws Exception {
        Assumptions.assumeTrue(NativeLibs.findLibrary("libcuda.so.1") == null,
                "this host has libcuda.so.1: the no-driver path cannot be shown here");
        NativeStubs.Result r = NativeStubs.runChild("nodriver", ProbeChild.class, Map.of("FISHLEG_BACKEND", "auto"), List.of(), "auto");
        assertEquals(0, r.exit, r.toString());
        assertEquals("false", line(r, "USABLE"));
        assertEquals("no libcuda.so.1 (NVIDIA driver not installed)", line(r, "REASON"));
        assertEquals("true", line(r, "PROBE_AGAIN_SAME"));
        assertTrue(r.output.contains("DETAIL=kernels: "), r.toString());
        assertEquals("backend: cpu (CUDA not used: no libcuda.so.1 (NVIDIA driver not installed))", line(r, "LOG"));
        assertEquals("cpu", line(r, "CHOSEN"));
    }

    @Test
    void stubDriverWithoutDeviceSaysNoDevice() throws Exception {
        Path lib = NativeStubs.build("libcuda-stub", "libcuda.so.1", NativeStubs.LIBCUDA_C);
        NativeStubs.Result r = NativeStubs.runChild("nodevice", ProbeChild.class,
                env(lib.getParent().toString(), "nodevice"), List.of(), "auto");
        assertEquals(0, r.exit, r.toString());
        assertEquals("false", line(r, "USABLE"));
        assertEquals("cuInit: CUDA_ERROR_NO_DEVICE", line(r, "REASON"));
        assertTrue(r.output.contains("DETAIL=driver: libcuda.so.1 from " + lib), r.toString());
        assertTrue(r.output.contains("CUDA driver API 13.0"), r.toString());
        assertEquals("backend: cpu (CUDA not used: cuInit: CUDA_ERROR_NO_DEVICE)", line(r, "LOG"));
    }

    @Test
    void fakeDeviceWithoutKernelsSaysKernelsNotBuilt() throws Exception {
        Path lib = NativeStubs.build("libcuda-stub", "libcuda.so.1", NativeStubs.LIBCUDA_C);
        NativeStubs.Result r = NativeStubs.runChild("nokernels", ProbeChild.class,
                env(lib.getParent().toString(), "device"),
                List.of("-D" + Kernels.FATBIN_PROPERTY + "=/nonexistent/fishleg_kernels.fatbin"));
        assertEquals(0, r.exit, r.toString());
        assertEquals("false", line(r, "USABLE"));
        assertTrue(line(r, "REASON").startsWith("kernels not built ("), r.toString());
        assertTrue(r.output.contains("DETAIL=device 0 of 1: FishLeg Stub GPU, compute capability 9.0, 132 SMs, 80.0 GiB"), r.toString());
    }

    @Test
    void fakeDeviceWithoutAnyCublasSaysSo() throws Exception {
        Assumptions.assumeTrue(NativeLibs.findLibrary("libcublas.so.12") == null && NativeLibs.findLibrary("libcublas.so.13") == null,
                "this host has a libcublas: the no-cuBLAS path cannot be shown here");
        Path lib = NativeStubs.build("libcuda-stub", "libcuda.so.1", NativeStubs.LIBCUDA_C);
        Path fatbin = NativeStubs.workDir().resolve("dummy.fatbin");
        java.nio.file.Files.write(fatbin, new byte[] {1, 2, 3, 4});
        NativeStubs.Result r = NativeStubs.runChild("nocublas", ProbeChild.class,
                env(lib.getParent().toString(), "device"), List.of("-D" + Kernels.FATBIN_PROPERTY + "=" + fatbin));
        assertEquals(0, r.exit, r.toString());
        assertEquals("libcublas.so.12 not found and no libcublas.so.13 to forward to", line(r, "REASON"));
    }

    /**
     * The whole CUDA 13 path up to the device: no libcublas.so.12, a (stub) libcublas.so.13 -> the
     * probe loads the forwarding library before JCublas2, cuBLAS answers through it (version 13.0.1
     * from the stub), cuRAND is reported, and the probe stops at the stub's cuModuleLoadData error.
     */
    @Test
    void fakeDeviceWithCublas13GoesThroughTheForwarder() throws Exception {
        Assumptions.assumeTrue(NativeLibs.findLibrary("libcublas.so.12") == null,
                "this host has libcublas.so.12: the forwarder is not used here");
        Assumptions.assumeTrue(NativeLibs.class.getResource(NativeLibs.FORWARDER_RESOURCE) != null,
                "forwarding library not built (gcc/objdump missing at build time)");
        Path cuda = NativeStubs.build("libcuda-stub", "libcuda.so.1", NativeStubs.LIBCUDA_C);
        Path cublas = NativeStubs.build("libcublas13-stub", "libcublas.so.13", NativeStubs.LIBCUBLAS13_C);
        Path fatbin = NativeStubs.workDir().resolve("dummy.fatbin");
        java.nio.file.Files.write(fatbin, new byte[] {1, 2, 3, 4});
        NativeStubs.Result r = NativeStubs.runChild("fwdprobe", ProbeChild.class,
                env(cuda.getParent() + ":" + cublas.getParent(), "device"),
                List.of("-D" + Kernels.FATBIN_PROPERTY + "=" + fatbin));
        assertEquals(0, r.exit, r.toString());
        assertEquals("false", line(r, "USABLE"));
        assertTrue(line(r, "REASON").startsWith("kernels failed to load on FishLeg Stub GPU: CUDA_ERROR_INVALID_IMAGE"), r.toString());
        assertTrue(r.output.contains("DETAIL=cuBLAS 13.0.1: libcublas.so.12 forwarded to " + cublas), r.toString());
        assertTrue(r.output.contains("DETAIL=cuRAND: "), r.toString());
        assertTrue(r.output.contains("DETAIL=memory: 79.0 GiB free of 80.0 GiB"), r.toString());
    }
}
