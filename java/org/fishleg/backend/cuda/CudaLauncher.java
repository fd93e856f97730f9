package org.fishleg.backend.cuda;

import jcuda.driver.CUstream;
import org.fishleg.backend.Tensor;

/**
 * Kernel launches on the backend's stream with the launch geometry of cuda/common.cuh: grid-stride
 * elementwise kernels ({@link Kernels#blocksFor}), one warp per row ({@link Kernels#rowBlocks}), or an
 * explicit grid. Shared by the op families (CudaElementwise, CudaReduce, CudaLikelihood, CudaOptim,
 * CudaRandom).
 */
final class CudaLauncher {
    private final Kernels kernels;
    private final CUstream stream;

    CudaLauncher(Kernels kernels, CUstream stream) {
        this.kernels = kernels;
        this.stream = stream;
    }

    /** Device address of element (0, 0) of {@code t} in {@code d}. */
    static long addr(DeviceBuffer d, Tensor t) { return d.address(t.offset()); }

    /** A grid-stride kernel over n items. */
    void grid(String kernel, long n, Object... args) {
        kernels.launch(kernel, Kernels.blocksFor(n), Kernels.THREADS, stream, args);
    }

    /** A row-wise kernel over {@code rows} rows. */
    void rows(String kernel, int rows, Object... args) {
        kernels.launch(kernel, Kernels.rowBlocks(rows), Kernels.THREADS, stream, args);
    }

    /** A kernel with an explicit 1-D grid. */
    void blocks(String kernel, int blocks, int threads, Object... args) {
        kernels.launch(kernel, blocks, threads, stream, args);
    }

    /** A kernel with an explicit 2-D grid. */
    void blocks2d(String kernel, int blocksX, int blocksY, int threadsX, int threadsY, Object... args) {
        kernels.launch2d(kernel, blocksX, blocksY, threadsX, threadsY, stream, args);
    }
}
