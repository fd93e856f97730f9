package org.fishleg.backend.cuda;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import org.fishleg.backend.Backend;
import org.fishleg.backend.BackendException;
import org.fishleg.backend.BackendOptions;

/**
 * Entry point the rest of the project uses to find out whether the CUDA backend is usable and to
 * open it. {@link #probe()} never throws: every failure (no driver library, no device, kernels not
 * built, no cuBLAS, a driver too old for the kernels) becomes a one-line reason, and
 * {@link Probe#details} lists what was found and where it was loaded from (for {@code fishleg info}).
 *
 * <p>Order of the checks: driver library (libcuda.so.1 via JCudaDriver) -> cuInit -> a device ->
 * the kernels fatbin on the classpath -> compute capability >= 8.0 -> cuBLAS (a real
 * libcublas.so.12, or the forwarder to libcublas.so.13, see {@link NativeLibs}) -> the kernels
 * load on the device (primary context). cuRAND is reported but not required (the backend's random
 * numbers come from the project's Philox kernels).
 */
public final class CudaSupport {
    private CudaSupport() {}

    /**
     * Set to 1/true to make GPU tests FAIL instead of skip when no GPU is usable (scripts/gpu-check.sh sets it):
     * {@link BackendOptions#REQUIRE_GPU_ENV}.
     */
    public static final String REQUIRE_GPU_ENV = BackendOptions.REQUIRE_GPU_ENV;
    /** Device ordinal to use (default 0); env twin FISHLEG_CUDA_DEVICE: {@link BackendOptions#CUDA_DEVICE_PROPERTY}. */
    public static final String DEVICE_PROPERTY = BackendOptions.CUDA_DEVICE_PROPERTY;

    /** Result of probing for a usable CUDA device and libraries. */
    public static final class Probe {
        /** True when a device and every library loaded. */
        public final boolean usable;
        /** One line: why not usable, or the device summary. */
        public final String reason;
        /** Lines for `fishleg info`: device, capability, driver/CUDA versions, memory, libraries and where they loaded from. */
        public final java.util.List<String> details;
        /** A probe result. */
        public Probe(boolean usable, String reason, java.util.List<String> details) {
            this.usable = usable; this.reason = reason; this.details = details;
        }

        @Override
        public String toString() { return (usable ? "usable: " : "not usable: ") + reason; }
    }

    /** Probe results by device ordinal. */
    private static final Map<Integer, Probe> CACHED = new HashMap<>();

    /** True when FISHLEG_REQUIRE_GPU is 1/true/yes: tests must fail, not skip, without a usable GPU. */
    public static boolean gpuRequired() {
        return BackendOptions.fromEnvironment().requireGpu();
    }

    /**
     * {@link #probe(BackendOptions)} with {@link BackendOptions#fromEnvironment()}; an invalid option is
     * reported as the reason of an unusable probe. Never throws.
     */
    public static Probe probe() {
        BackendOptions o;
        try {
            o = BackendOptions.fromEnvironment();
        } catch (BackendException e) {
            return new Probe(false, e.getMessage(), List.of());
        }
        return probe(o);
    }

    /**
     * Probes the device {@code options.cudaDevice()} once per JVM (cached); never throws. The library
     * options (fatbin, cuBLAS 13 path, library folders) act on the first probe of the JVM.
     */
    public static synchronized Probe probe(BackendOptions options) {
        Probe cached = CACHED.get(options.cudaDevice());
        if (cached == null) {
            List<String> details = new ArrayList<>();
            Probe p;
            try {
                p = NativeLibs.withPrivateNatives(() -> doProbe(details, options));
            } catch (RuntimeException | LinkageError e) { // CudaException is a RuntimeException
                p = new Probe(false, "CUDA probe failed: " + NativeLibs.oneLine(e), details);
            }
            cached = new Probe(p.usable, p.reason, Collections.unmodifiableList(new ArrayList<>(p.details)));
            CACHED.put(options.cudaDevice(), cached);
        }
        return cached;
    }

    /** {@link #open(BackendOptions)} with {@link BackendOptions#fromEnvironment()}. */
    public static Backend open() {
        return open(BackendOptions.fromEnvironment());
    }

    /**
     * Opens the CUDA backend on device {@code options.cudaDevice()} (TF32 as {@code options.tf32()});
     * throws BackendException with the probe's reason if unusable.
     */
    public static Backend open(BackendOptions options) {
        Probe p = probe(options);
        if (!p.usable) throw new BackendException("CUDA backend unavailable: " + p.reason);
        return new CudaBackend(options, p.reason);
    }

    private static Probe fail(String reason, List<String> details) {
        return new Probe(false, reason, details);
    }

    private static Probe doProbe(List<String> details, BackendOptions options) {
        // JCuda extracts its JNI libraries into java.io.tmpdir and fails if that folder is missing
        // (Maven's surefire points it at target/tmp, which nothing else creates).
        try {
            java.nio.file.Files.createDirectories(java.nio.file.Path.of(System.getProperty("java.io.tmpdir")));
        } catch (java.io.IOException | RuntimeException e) {
            details.add("java.io.tmpdir " + System.getProperty("java.io.tmpdir") + " cannot be created: " + e.getMessage());
        }
        String kernelsLine = Kernels.describeImage(options.fatbin());
        Kernels.Image image = Kernels.image(options.fatbin());

        // 1. driver library: loaded by absolute path first when it is somewhere the dynamic loader does
        // not look (e.g. /usr/local/nvidia/lib64 without LD_LIBRARY_PATH), so that JCudaDriver links to it
        details.add(NativeLibs.searchSummary(options));
        NativeLibs.preload("libcuda.so.1");
        int[] v = new int[1];
        int rc;
        try {
            JCudaDriver.setExceptionsEnabled(false);
            rc = JCudaDriver.cuDriverGetVersion(v);
        } catch (LinkageError e) {
            String why = NativeLibs.oneLine(e);
            String reason = why.startsWith("libcuda.so.1 not found") ? "no libcuda.so.1 (NVIDIA driver not installed)"
                    : "CUDA driver library failed to load: " + why;
            details.add("driver: " + reason);
            details.add("kernels: " + kernelsLine);
            return fail(reason, details);
        }
        String libcuda = NativeLibs.loadedFrom("libcuda.so");
        String driverApi = rc == CUresult.CUDA_SUCCESS ? version(v[0]) : "unknown (" + CUresult.stringFor(rc) + ")";
        details.add("driver: libcuda.so.1 from " + (libcuda != null ? libcuda : "?") + ", CUDA driver API " + driverApi);
        String jcudaLine = NativeLibs.jcudaNativesLine();
        if (jcudaLine != null) details.add(jcudaLine);
        String jcudaFrom = NativeLibs.loadedFrom("libJCudaDriver");
        if (jcudaFrom != null) details.add("JCudaDriver loaded from " + jcudaFrom);

        // 2. cuInit, 3. a device
        rc = JCudaDriver.cuInit(0);
        if (rc != CUresult.CUDA_SUCCESS) {
            details.add("kernels: " + kernelsLine);
            return fail("cuInit: " + CUresult.stringFor(rc), details);
        }
        int[] count = new int[1];
        rc = JCudaDriver.cuDeviceGetCount(count);
        if (rc != CUresult.CUDA_SUCCESS) return fail("cuDeviceGetCount: " + CUresult.stringFor(rc), details);
        if (count[0] == 0) return fail("no CUDA device (cuDeviceGetCount = 0)", details);
        int ordinal = options.cudaDevice();
        if (ordinal < 0 || ordinal >= count[0])
            return fail("CUDA device " + ordinal + " requested but there are " + count[0], details);
        CUdevice dev = new CUdevice();
        rc = JCudaDriver.cuDeviceGet(dev, ordinal);
        if (rc != CUresult.CUDA_SUCCESS) return fail("cuDeviceGet(" + ordinal + "): " + CUresult.stringFor(rc), details);
        byte[] nameBytes = new byte[256];
        JCudaDriver.cuDeviceGetName(nameBytes, nameBytes.length, dev);
        String name = cString(nameBytes);
        int major = attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        int minor = attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        int sms = attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        long[] total = new long[1];
        JCudaDriver.cuDeviceTotalMem(total, dev);
        details.add(String.format(Locale.ROOT, "device %d of %d: %s, compute capability %d.%d, %d SMs, %.1f GiB",
                ordinal, count[0], name, major, minor, sms, total[0] / 1073741824.0));
        String summary = String.format(Locale.ROOT, "%s, cc %d.%d, %.0f GiB, driver %s", name, major, minor,
                total[0] / 1073741824.0, driverApi);

        // 4. kernels
        details.add("kernels: " + kernelsLine);
        if (image.bytes == null) return fail(image.problem, details);
        if (major < 8)
            return fail("compute capability " + major + "." + minor + " is below 8.0 (kernels are built for sm_80 and newer)", details);

        // 5. runtime version (JCudaRuntime links cudart statically), for information only
        try {
            int[] rv = new int[1];
            if (jcuda.runtime.JCuda.cudaRuntimeGetVersion(rv) == 0)
                details.add("CUDA runtime (JCuda " + jcuda.JCudaVersion.get() + ", static cudart): " + version(rv[0]));
        } catch (RuntimeException | LinkageError e) {
            details.add("CUDA runtime: not loaded (" + NativeLibs.oneLine(e) + ")");
        }

        // 6. cuBLAS: forwarder first if needed, then JCublas2
        NativeLibs.CublasSetup cs = NativeLibs.prepareCublas(options);
        if (!cs.ok) {
            details.add("cuBLAS: " + cs.detail);
            return fail(cs.detail, details);
        }
        try {
            int[] ma = new int[1], mi = new int[1], pa = new int[1];
            jcuda.jcublas.JCublas2.setExceptionsEnabled(false);
            jcuda.jcublas.JCublas2.cublasGetProperty(0, ma);
            jcuda.jcublas.JCublas2.cublasGetProperty(1, mi);
            jcuda.jcublas.JCublas2.cublasGetProperty(2, pa);
            String from = NativeLibs.loadedFrom(cs.forwarded ? "libcublas.so.13" : "libcublas.so");
            details.add("cuBLAS " + ma[0] + "." + mi[0] + "." + pa[0] + ": " + cs.detail
                    + (cs.forwarded || from == null ? "" : " (mapped " + from + ")")
                    + ", TF32 " + (options.tf32() ? "allowed" : "off (-Dfishleg.cuda.tf32=true or FISHLEG_CUDA_TF32=1 allows it)"));
        } catch (LinkageError e) {
            String why = "cuBLAS failed to load: " + NativeLibs.oneLine(e);
            details.add("cuBLAS: " + why + " (" + cs.detail + ")");
            return fail(why, details);
        }

        // 7. cuRAND: reported, not required
        details.add("cuRAND: " + curandStatus());

        // 8. the kernels load on this device (catches a driver too old for the fatbin), memory
        CUcontext ctx = new CUcontext();
        rc = JCudaDriver.cuDevicePrimaryCtxRetain(ctx, dev);
        if (rc != CUresult.CUDA_SUCCESS) return fail("cuDevicePrimaryCtxRetain: " + CUresult.stringFor(rc), details);
        try {
            rc = JCudaDriver.cuCtxSetCurrent(ctx);
            if (rc != CUresult.CUDA_SUCCESS) return fail("cuCtxSetCurrent: " + CUresult.stringFor(rc), details);
            long[] free = new long[1], tot = new long[1];
            if (JCudaDriver.cuMemGetInfo(free, tot) == CUresult.CUDA_SUCCESS)
                details.add(String.format(Locale.ROOT, "memory: %.1f GiB free of %.1f GiB", free[0] / 1073741824.0, tot[0] / 1073741824.0));
            CUmodule module = new CUmodule();
            rc = JCudaDriver.cuModuleLoadData(module, image.bytes);
            if (rc != CUresult.CUDA_SUCCESS) {
                String why = "kernels failed to load on " + name + ": " + Kernels.moduleLoadHint(rc);
                details.add("kernels on the device: " + why);
                return fail(why, details);
            }
            JCudaDriver.cuModuleUnload(module);
        } finally {
            JCudaDriver.cuDevicePrimaryCtxRelease(dev);
        }
        return new Probe(true, summary, details);
    }

    /** "10.3.5 (libcurand.so.10 from PATH)" or "not loaded (reason)". Never throws. */
    public static String curandStatus() {
        try {
            return NativeLibs.withPrivateNatives(CudaSupport::curandVersion);
        } catch (RuntimeException | LinkageError e) {
            return "not loaded (" + NativeLibs.oneLine(e) + ")";
        }
    }

    private static String curandVersion() {
        try {
            NativeLibs.preload("libcurand.so.10");
            int[] v = new int[1];
            jcuda.jcurand.JCurand.setExceptionsEnabled(false);
            int rc = jcuda.jcurand.JCurand.curandGetVersion(v);
            if (rc != 0) return "loaded, curandGetVersion returned " + rc;
            String from = NativeLibs.loadedFrom("libcurand.so");
            return (v[0] / 1000) + "." + (v[0] % 1000 / 100) + "." + (v[0] % 100)
                    + " (libcurand.so.10 from " + (from != null ? from : "?") + ", JCurand from "
                    + String.valueOf(NativeLibs.loadedFrom("libJCurand")) + ")";
        } catch (RuntimeException | LinkageError e) {
            return "not loaded (" + NativeLibs.oneLine(e) + ")";
        }
    }

    private static int attribute(CUdevice dev, int attr) {
        int[] a = new int[1];
        JCudaDriver.cuDeviceGetAttribute(a, attr, dev);
        return a[0];
    }

    /** 13000 -> "13.0", 12040 -> "12.4". */
    static String version(int v) { return (v / 1000) + "." + (v % 1000 / 10); }

    private static String cString(byte[] b) {
        int n = 0;
        while (n < b.length && b[n] != 0) n++;
        return new String(b, 0, n, java.nio.charset.StandardCharsets.UTF_8).trim();
    }
}
