package org.fishleg.backend.cuda;

import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import org.fishleg.backend.BackendException;
import org.fishleg.backend.BackendOptions;

/**
 * The project's kernels (cuda/*.cu, built by CMake into one fatbin that Maven ships as classpath
 * resource {@value #FATBIN_RESOURCE}): loaded once per backend with cuModuleLoadData, functions
 * cached by name, launched through one varargs helper.
 */
final class Kernels implements AutoCloseable {
    static final String FATBIN_RESOURCE = "/org/fishleg/cuda/fishleg_kernels.fatbin";
    static final String NOT_BUILT_RESOURCE = "/org/fishleg/cuda/kernels-not-built.txt";
    static final String BUILD_INFO_RESOURCE = "/org/fishleg/cuda/kernels-build-info.txt";
    static final String PTXAS_REPORT_RESOURCE = "/org/fishleg/cuda/ptxas-report.txt";
    /**
     * Overrides the fatbin (a file path), e.g. one built with the host's own nvcc. Env twin: FISHLEG_CUDA_FATBIN
     * ({@link BackendOptions#fatbin()}).
     */
    static final String FATBIN_PROPERTY = BackendOptions.FATBIN_PROPERTY;

    /** Threads per block of every 1-D kernel (FL_THREADS in cuda/common.cuh). */
    static final int THREADS = 256;
    /** Upper bound of blocks for grid-stride elementwise kernels. */
    static final int MAX_BLOCKS = 8192;
    /** Upper bound of partial sums of a two-pass reduction (size of the backend's scratch). */
    static final int MAX_PARTIALS = 1024;

    /** The fatbin bytes, or why there are none. */
    static final class Image {
        final byte[] bytes;
        final String source;
        final String problem;

        private Image(byte[] bytes, String source, String problem) {
            this.bytes = bytes;
            this.source = source;
            this.problem = problem;
        }
    }

    private static Image image;

    /**
     * Reads the fatbin once per JVM: {@code override} ({@link BackendOptions#fatbin()}) when not null, else
     * the classpath resource. The first call decides; later calls return its image.
     */
    static synchronized Image image(Path override) {
        if (image != null) return image;
        if (override != null) {
            Path p = override;
            try {
                image = new Image(Files.readAllBytes(p), p.toAbsolutePath().toString(), null);
            } catch (IOException e) {
                image = new Image(null, null, "kernels not built (" + FATBIN_PROPERTY + " = " + p + " cannot be read: " + e.getMessage() + ")");
            }
            return image;
        }
        try (InputStream in = Kernels.class.getResourceAsStream(FATBIN_RESOURCE)) {
            if (in != null) {
                image = new Image(in.readAllBytes(), "classpath:" + FATBIN_RESOURCE.substring(1), null);
                return image;
            }
        } catch (IOException e) {
            image = new Image(null, null, "kernels not built (cannot read " + FATBIN_RESOURCE + ": " + e.getMessage() + ")");
            return image;
        }
        String why = NativeLibs.readResource(NOT_BUILT_RESOURCE);
        image = new Image(null, null, "kernels not built (" + (why != null ? why
                : "no " + FATBIN_RESOURCE.substring(1) + " on the classpath; build with nvcc present") + ")");
        return image;
    }

    /** One line: what the fatbin holds (nvcc release, archs) or why it is missing. */
    static String describeImage(Path override) {
        Image im = image(override);
        if (im.bytes == null) return im.problem;
        String info = NativeLibs.readResource(BUILD_INFO_RESOURCE);
        String nvcc = "", archs = "";
        if (info != null && im.source.startsWith("classpath:")) {
            for (String line : info.split("\n")) {
                if (line.startsWith("nvcc=")) nvcc = ", nvcc " + line.substring(5).trim();
                if (line.startsWith("flags=")) {
                    StringBuilder sb = new StringBuilder();
                    java.util.regex.Matcher m = java.util.regex.Pattern.compile("code=((?:sm|compute)_[0-9]+)").matcher(line);
                    while (m.find()) sb.append(sb.length() == 0 ? "" : " ").append(m.group(1));
                    archs = ", " + sb;
                }
            }
        }
        return String.format("%s (%.1f MiB%s%s)", im.source, im.bytes.length / 1048576.0, nvcc, archs);
    }

    /**
     * Every kernel in cuda/ (KernelBuildTest checks this list against the fatbin's entry points). All are
     * resolved when the module loads, so a missing kernel is reported when the backend opens and no kernel
     * is looked up for the first time inside a CUDA graph capture.
     */
    static final List<String> ALL = List.of(
            "fl_activation",
            "fl_activation_deriv_mul",
            "fl_activation_second_mul",
            "fl_adam_step",
            "fl_adam_step_at",
            "fl_add_row_vector",
            "fl_axpby",
            "fl_clamp",
            "fl_column_sums",
            "fl_copy_into_columns",
            "fl_gather_rows",
            "fl_mirror_upper",
            "fl_momentum_step",
            "fl_mul",
            "fl_nll_grad",
            "fl_nll_partial",
            "fl_output_hessian_vec",
            "fl_rand_normal",
            "fl_rand_uniform",
            "fl_reduce_final",
            "fl_reduce_partial",
            "fl_rng_advance",
            "fl_sample_targets",
            "fl_scalar_mul_add",
            "fl_scale_by_scalar",
            "fl_set_identity",
            "fl_sigma_grad_final",
            "fl_triangular_mask");

    private final CUmodule module = new CUmodule();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private boolean closed;

    /**
     * Loads the fatbin ({@link #image(Path)} of {@code fatbin}) into the current context; throws BackendException
     * with the driver's reason.
     */
    Kernels(Path fatbin) {
        Image im = image(fatbin);
        if (im.bytes == null) throw new BackendException("cuda: " + im.problem);
        int rc = cuModuleLoadData(module, im.bytes);
        if (rc != CUresult.CUDA_SUCCESS) throw new BackendException("cuda: loading kernels failed: " + moduleLoadHint(rc));
        try {
            for (String k : ALL) function(k);
        } catch (BackendException e) {
            cuModuleUnload(module);
            throw new BackendException(e.getMessage() + " (" + im.source + ")");
        }
    }

    /** The driver's error plus what to do about it. */
    static String moduleLoadHint(int rc) {
        String name = CUresult.stringFor(rc);
        if (rc == CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION || rc == CUresult.CUDA_ERROR_NO_BINARY_FOR_GPU
                || rc == CUresult.CUDA_ERROR_INVALID_PTX || rc == CUresult.CUDA_ERROR_INVALID_IMAGE) {
            return name + " (kernels built by nvcc 13 need a CUDA 13 driver, R580+; or rebuild them with this host's nvcc: "
                    + "mvn -Dfishleg.nvcc=/usr/local/cuda/bin/nvcc package)";
        }
        return name;
    }

    CUfunction function(String name) {
        CUfunction f = functions.get(name);
        if (f == null) {
            f = new CUfunction();
            int rc = cuModuleGetFunction(f, module, name);
            if (rc != CUresult.CUDA_SUCCESS)
                throw new BackendException("cuda: kernel " + name + " not in the fatbin: " + CUresult.stringFor(rc));
            functions.put(name, f);
        }
        return f;
    }

    /**
     * Launches kernel {@code name} on a 1-D grid. Arguments: Integer (int), Float (float), Double
     * (double), Long (64-bit value; device addresses are passed as Long).
     */
    void launch(String name, int blocks, int threads, CUstream stream, Object... args) {
        launch2d(name, blocks, 1, threads, 1, stream, args);
    }

    void launch2d(String name, int blocksX, int blocksY, int threadsX, int threadsY, CUstream stream, Object... args) {
        Pointer[] ps = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            if (a instanceof Integer) ps[i] = Pointer.to(new int[] {(Integer) a});
            else if (a instanceof Float) ps[i] = Pointer.to(new float[] {(Float) a});
            else if (a instanceof Long) ps[i] = Pointer.to(new long[] {(Long) a});
            else if (a instanceof Double) ps[i] = Pointer.to(new double[] {(Double) a});
            else throw new IllegalArgumentException("kernel " + name + ": unsupported argument " + a);
        }
        int rc = cuLaunchKernel(function(name), blocksX, blocksY, 1, threadsX, threadsY, 1, 0, stream,
                Pointer.to(ps), null);
        if (rc != CUresult.CUDA_SUCCESS)
            throw new BackendException("cuda: launching " + name + " (" + blocksX + "x" + blocksY + " blocks of "
                    + threadsX + "x" + threadsY + ") failed: " + CUresult.stringFor(rc));
    }

    /** Blocks for a grid-stride loop over n items (at least 1). */
    static int blocksFor(long n) {
        return (int) Math.max(1, Math.min(MAX_BLOCKS, (n + THREADS - 1) / THREADS));
    }

    /** Blocks of the first reduction pass: a function of n only, so results do not depend on the device. */
    static int reduceBlocks(long n) {
        return (int) Math.max(1, Math.min(MAX_PARTIALS, (n + 8L * THREADS - 1) / (8L * THREADS)));
    }

    /** Blocks for warp-per-row kernels (8 warps per block). */
    static int rowBlocks(long rows) {
        return (int) Math.max(1, Math.min(MAX_PARTIALS, (rows + (THREADS / 32) - 1) / (THREADS / 32)));
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        cuModuleUnload(module);
    }
}
