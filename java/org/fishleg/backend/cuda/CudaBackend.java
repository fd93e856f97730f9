package org.fishleg.backend.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUresult;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.JCudaDriver;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasMath;
import jcuda.jcublas.cublasPointerMode;
import jcuda.jcublas.cublasStatus;
import jcuda.runtime.cudaStream_t;
import org.fishleg.backend.Activation;
import org.fishleg.backend.Backend;
import org.fishleg.backend.BackendException;
import org.fishleg.backend.BackendOptions;
import org.fishleg.backend.Checks;
import static org.fishleg.backend.Checks.*;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.backend.Tensor;

/**
 * The CUDA backend: JCuda driver API on the device's primary context, every operation queued on
 * the backend's own (non-blocking) stream, cuBLAS (JCublas2) for matrix products, the project's
 * kernels (cuda/*.cu, {@link Kernels}) for everything else, device memory from a caching
 * {@link DevicePool}. Only {@link #download}, {@link #readScalar}, {@link #rngOffset} and
 * {@link #synchronize} wait for the stream; no other operation copies data to or from the host.
 *
 * <p>Semantics are those of {@code CpuBackend} (its twin): same shape checks and messages, same
 * formulas (double-precision math where the CPU uses double), deterministic reductions (two passes,
 * fixed order, no float atomics). The Philox stream state (seed, offset) lives in device memory and
 * is advanced by a kernel, so a captured CUDA graph draws fresh numbers on every replay.
 *
 * <p>An instance is used from one thread at a time (like a CUDA stream); the primary context is
 * made current on whichever thread calls.
 *
 * <p>TF32 for GEMM is off (CUBLAS_DEFAULT_MATH: full FP32); {@link BackendOptions#tf32()}
 * (-Dfishleg.cuda.tf32=true or FISHLEG_CUDA_TF32=1) allows it (CUBLAS_TF32_TENSOR_OP_MATH).
 */
public final class CudaBackend implements Backend {
    /** Floats per host staging chunk (pinned memory) for upload/download. */
    private static final int STAGING_FLOATS = 1 << 20;
    /** cuBLAS workspace (NVIDIA recommends 32 MiB on Hopper, 4 MiB before). */
    private static final long CUBLAS_WORKSPACE_BYTES = 32L << 20;

    private final int ordinal;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final cublasHandle cublas = new cublasHandle();
    private final Kernels kernels;
    private final DevicePool pool;
    private final String description;
    private final boolean tf32;
    /**
     * The backend whose context this thread made current last. Per thread and shared by all instances, so
     * two backends on different devices used from one thread each make their own context current again.
     */
    private static final ThreadLocal<CudaBackend> BOUND = new ThreadLocal<>();

    private final Map<Tensor, DeviceBuffer> live = new IdentityHashMap<>();
    private final DeviceBuffer partials;   // MAX_PARTIALS doubles for two-pass reductions
    private final DeviceBuffer rngState;   // 2 x u64: seed, offset (counters consumed)
    private final DeviceBuffer cublasWorkspace; // cuBLAS never allocates inside a captured graph
    private final Pointer staging = new Pointer();
    private final FloatBuffer stagingFloats;
    private final LongBuffer stagingLongs;
    private final java.nio.IntBuffer stagingInts;
    /** Device copies of the last two index arrays given to gatherRows (keys, host snapshots, buffers). */
    private final int[][] indexKeys = new int[2][], indexSnapshots = new int[2][];
    private final DeviceBuffer[] indexBuffers = new DeviceBuffer[2];
    private final long[] indexUse = new long[2];
    private long indexClock;
    private long seed;
    private boolean closed;

    /**
     * Opens device {@code options.cudaDevice()} with TF32 as {@code options.tf32()} and the kernels of
     * {@code options.fatbin()}; CudaSupport.open(options) is the normal entry (it probes first).
     */
    CudaBackend(BackendOptions options, String description) {
        int ordinal = options.cudaDevice();
        this.ordinal = ordinal;
        check(jcuda.driver.JCudaDriver.cuDeviceGet(device, ordinal), "cuDeviceGet(" + ordinal + ")");
        check(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        // Everything created so far is released again when a later step fails, so a failed open (no
        // memory, a cuBLAS error) leaves no stream, handle, pinned memory or context reference behind.
        Kernels k = null;
        DevicePool p = null;
        boolean streamMade = false, blasMade = false, stagingMade = false, ok = false;
        DeviceBuffer part = null, rng = null, work = null;
        try {
            bindThread();
            check(cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
            streamMade = true;
            k = new Kernels(options.fatbin());
            checkBlas(JCublas2.cublasCreate(cublas), "cublasCreate");
            blasMade = true;
            checkBlas(JCublas2.cublasSetStream(cublas, new cudaStream_t(stream)), "cublasSetStream");
            checkBlas(JCublas2.cublasSetPointerMode(cublas, cublasPointerMode.CUBLAS_POINTER_MODE_HOST), "cublasSetPointerMode");
            tf32 = options.tf32();
            checkBlas(JCublas2.cublasSetMathMode(cublas, tf32 ? cublasMath.CUBLAS_TF32_TENSOR_OP_MATH : cublasMath.CUBLAS_DEFAULT_MATH),
                    "cublasSetMathMode");
            p = new DevicePool(this::syncStream);
            check(cuMemAllocHost(staging, (long) STAGING_FLOATS * Float.BYTES), "cuMemAllocHost");
            stagingMade = true;
            ByteBuffer bb = staging.getByteBuffer(0, (long) STAGING_FLOATS * Float.BYTES).order(ByteOrder.nativeOrder());
            stagingFloats = bb.asFloatBuffer();
            stagingLongs = bb.asLongBuffer();
            stagingInts = bb.asIntBuffer();
            part = p.allocate(2L * Kernels.MAX_PARTIALS);
            rng = p.allocate(4);
            work = p.allocate(CUBLAS_WORKSPACE_BYTES / Float.BYTES);
            checkBlas(JCublas2.cublasSetWorkspace(cublas, work.pointer(0), CUBLAS_WORKSPACE_BYTES), "cublasSetWorkspace");
            ok = true;
        } finally {
            if (!ok) {
                if (blasMade) JCublas2.cublasDestroy(cublas);
                for (DeviceBuffer db : new DeviceBuffer[] {part, rng, work}) if (db != null) db.free();
                if (p != null) p.close();
                if (stagingMade) cuMemFreeHost(staging);
                if (k != null) k.close();
                if (streamMade) cuStreamDestroy(stream);
                cuDevicePrimaryCtxRelease(device);
                if (BOUND.get() == this) BOUND.remove();
            }
        }
        kernels = k;
        pool = p;
        partials = part;
        rngState = rng;
        cublasWorkspace = work;
        this.description = description + (tf32 ? ", TF32 on" : "");
        setSeed(0L);
    }

    @Override public String name() { return "cuda"; }

    @Override public String description() { return description; }

    /** The stream all work is queued on (for CUDA graph capture by callers in this package). */
    CUstream stream() { return stream; }

    /** Device allocations made so far (cuMemAlloc calls, not pool hits). */
    public long deviceAllocations() { return pool.allocations(); }

    /** Frees the pool's cached blocks. */
    public void trimCache() { noCapture("trimCache"); bindThread(); pool.trim(); }

    // =================================================================================== CUDA graphs

    /**
     * A captured sequence of this backend's operations, replayed with one cuGraphLaunch on the
     * backend's stream. Random fills inside it read and advance the device-side Philox offset, so
     * every replay draws fresh numbers. Tensors used inside must be allocated before capture and
     * stay open while the graph lives; operations that wait (download, readScalar, rngOffset,
     * upload, synchronize) fail during capture.
     */
    public final class Graph implements Backend.Graph {
        private final CUgraph graph;
        private final CUgraphExec exec;
        private boolean closed;

        private Graph(CUgraph graph, CUgraphExec exec) {
            this.graph = graph;
            this.exec = exec;
        }

        /** Queues one replay on the backend's stream (asynchronous). */
        @Override
        public void launch() {
            if (closed) throw new BackendException("cuda: graph is closed");
            noCapture("graph launch");
            bindThread();
            check(JCudaDriver.cuGraphLaunch(exec, stream), "cuGraphLaunch");
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            bindThread();
            JCudaDriver.cuGraphExecDestroy(exec);
            JCudaDriver.cuGraphDestroy(graph);
        }
    }

    @Override
    public boolean supportsGraphs() { return true; }

    /**
     * Captures what {@code work} queues on this backend (stream capture, relaxed mode) into a graph;
     * nothing runs until {@link Graph#launch}. Operations that would allocate, copy to or from the
     * host or wait throw during capture (see {@link Backend#captureGraph}).
     */
    @Override
    public Graph captureGraph(Runnable work) {
        if (closed) throw new BackendException("captureGraph: cuda backend is closed");
        noCapture("captureGraph");
        bindThread();
        CUgraph graph = new CUgraph();
        check(JCudaDriver.cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED), "cuStreamBeginCapture");
        capturing = true;
        try {
            work.run();
        } catch (RuntimeException | Error e) {
            capturing = false;
            if (JCudaDriver.cuStreamEndCapture(stream, graph) == CUresult.CUDA_SUCCESS) JCudaDriver.cuGraphDestroy(graph);
            throw e;
        }
        capturing = false;
        check(JCudaDriver.cuStreamEndCapture(stream, graph), "cuStreamEndCapture");
        CUgraphExec exec = new CUgraphExec();
        int rc = JCudaDriver.cuGraphInstantiate(exec, graph, 0L);
        if (rc != CUresult.CUDA_SUCCESS) {
            JCudaDriver.cuGraphDestroy(graph);
            throw new BackendException("cuda: cuGraphInstantiate failed: " + CUresult.stringFor(rc));
        }
        return new Graph(graph, exec);
    }

    // =================================================================================== plumbing

    private void bindThread() {
        if (BOUND.get() != this) {
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            BOUND.set(this);
        }
    }

    private void syncStream() {
        noCapture("stream synchronisation");
        check(cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    /** True between cuStreamBeginCapture and cuStreamEndCapture of {@link #captureGraph}. */
    private boolean capturing;

    private void noCapture(String op) {
        if (capturing)
            throw new BackendException(op + ": not allowed while a CUDA graph is being captured (it would allocate, "
                    + "copy to or from the host, or wait); do it before or after the capture");
    }

    private static void check(int rc, String what) {
        if (rc != CUresult.CUDA_SUCCESS) throw new BackendException("cuda: " + what + " failed: " + CUresult.stringFor(rc));
    }

    private static void checkBlas(int rc, String what) {
        if (rc != cublasStatus.CUBLAS_STATUS_SUCCESS)
            throw new BackendException("cuda: " + what + " failed: " + cublasStatus.stringFor(rc));
    }

    private DeviceBuffer st(Tensor t, String op) {
        DeviceBuffer d = storage(op, t, this, closed, DeviceBuffer.class);
        if (d.isFreed()) throw new BackendException(op + ": tensor " + t.shape() + " used after its storage was freed");
        bindThread();
        return d;
    }

    private static long addr(DeviceBuffer d, Tensor t) { return d.address(t.offset()); }

    private void launch(String kernel, long n, Object... args) {
        kernels.launch(kernel, Kernels.blocksFor(n), Kernels.THREADS, stream, args);
    }

    private void launchRows(String kernel, int rows, Object... args) {
        kernels.launch(kernel, Kernels.rowBlocks(rows), Kernels.THREADS, stream, args);
    }

    // =================================================================================== memory

    @Override
    public Tensor zeros(int rows, int cols) {
        Tensor t = allocate(rows, cols, "zeros");
        DeviceBuffer d = (DeviceBuffer) t.storage();
        if (t.size() > 0) check(cuMemsetD32Async(d.pointer(0), 0, t.size(), stream), "cuMemsetD32Async");
        return t;
    }

    private Tensor allocate(int rows, int cols, String op) {
        if (closed) throw new BackendException(op + ": cuda backend is closed");
        if (rows < 0 || cols < 0) throw new BackendException(op + ": negative shape " + rows + "x" + cols);
        long n = (long) rows * cols;
        if (n > Integer.MAX_VALUE - 8) throw new BackendException(op + ": " + rows + "x" + cols + " is too large");
        noCapture(op);
        bindThread();
        DeviceBuffer d = pool.allocate(n);
        Tensor t = new Tensor(this, d, rows, cols);
        synchronized (live) { live.put(t, d); }
        return t;
    }

    @Override
    public Tensor upload(float[] host, int rows, int cols) {
        if (host == null) throw new BackendException("upload: null host array");
        if ((long) rows * cols != host.length)
            throw new BackendException("upload: host array of " + host.length + " floats does not match " + rows + "x" + cols);
        Tensor t = allocate(rows, cols, "upload");
        upload(host, t);
        return t;
    }

    @Override
    public void upload(float[] host, Tensor dst) {
        DeviceBuffer d = st(dst, "upload");
        noCapture("upload");
        if (host == null) throw new BackendException("upload: null host array");
        if (host.length != dst.size())
            throw new BackendException("upload: host array of " + host.length + " floats does not match " + dst.shape());
        synchronized (staging) {
            // staging is idle here (every user of it waits for its copy); wait after each chunk so
            // the next one may overwrite it and the caller may reuse host afterwards
            for (int from = 0; from < host.length; from += STAGING_FLOATS) {
                int len = Math.min(STAGING_FLOATS, host.length - from);
                stagingFloats.put(0, host, from, len);
                check(cuMemcpyHtoDAsync(d.pointer(dst.offset() + from), staging, (long) len * Float.BYTES, stream),
                        "cuMemcpyHtoDAsync (upload " + dst.shape() + ")");
                syncStream();
            }
        }
    }

    @Override
    public void download(Tensor src, float[] dst) {
        DeviceBuffer d = st(src, "download");
        noCapture("download");
        if (dst == null) throw new BackendException("download: null host array");
        if (dst.length < src.size())
            throw new BackendException("download: host array of " + dst.length + " floats is smaller than " + src.shape());
        synchronized (staging) {
            int n = src.size();
            if (n == 0) { syncStream(); return; }
            for (int from = 0; from < n; from += STAGING_FLOATS) {
                int len = Math.min(STAGING_FLOATS, n - from);
                check(cuMemcpyDtoHAsync(staging, d.pointer(src.offset() + from), (long) len * Float.BYTES, stream),
                        "cuMemcpyDtoHAsync (download " + src.shape() + ")");
                syncStream();
                stagingFloats.get(0, dst, from, len);
            }
        }
    }

    @Override
    public float readScalar(Tensor scalar) {
        DeviceBuffer d = st(scalar, "readScalar");
        noCapture("readScalar");
        if (scalar.size() < 1) throw new BackendException("readScalar: empty tensor " + scalar.shape());
        synchronized (staging) {
            check(cuMemcpyDtoHAsync(staging, d.pointer(scalar.offset()), Float.BYTES, stream), "cuMemcpyDtoHAsync (readScalar)");
            syncStream();
            return stagingFloats.get(0);
        }
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        DeviceBuffer ss = st(src, "copy"), sd = st(dst, "copy");
        sameSize("copy", "src", src, "dst", dst);
        int n = src.size();
        if (n == 0 || (ss == sd && src.offset() == dst.offset())) return;
        long bytes = (long) n * Float.BYTES;
        if (ss == sd && overlaps(src, dst)) { // memmove through a pooled temporary
            noCapture("copy between overlapping ranges");
            DeviceBuffer tmp = pool.allocate(n);
            try {
                check(cuMemcpyDtoDAsync(tmp.pointer(0), ss.pointer(src.offset()), bytes, stream), "cuMemcpyDtoDAsync (copy)");
                check(cuMemcpyDtoDAsync(sd.pointer(dst.offset()), tmp.pointer(0), bytes, stream), "cuMemcpyDtoDAsync (copy)");
            } finally {
                tmp.free();
            }
            return;
        }
        check(cuMemcpyDtoDAsync(sd.pointer(dst.offset()), ss.pointer(src.offset()), bytes, stream), "cuMemcpyDtoDAsync (copy)");
    }

    /**
     * One kernel instead of one copy per row. The index array is uploaded once and kept on the device
     * (two arrays at a time, e.g. the training and the auxiliary permutation of an epoch); a later call
     * with the same array reuses that copy when the slice it reads is unchanged, else uploads it again.
     */
    @Override
    public void gatherRows(Tensor src, int[] rows, int start, Tensor dst) {
        String op = "gatherRows";
        DeviceBuffer ss = st(src, op), sd = st(dst, op);
        gatherIndices(op, src, rows, start, dst);
        if (ss == sd && overlaps(src, dst)) throw new BackendException(op + ": dst " + dst + " overlaps src " + src);
        if (dst.size() == 0) return;
        noCapture(op);
        DeviceBuffer idx = deviceIndices(rows, start, dst.rows());
        launch("fl_gather_rows", dst.size(), dst.rows(), dst.cols(), src.rows(), addr(ss, src), idx.address(start), addr(sd, dst));
    }

    private DeviceBuffer deviceIndices(int[] rows, int start, int count) {
        indexClock++;
        for (int i = 0; i < 2; i++)
            if (indexKeys[i] == rows
                    && java.util.Arrays.equals(rows, start, start + count, indexSnapshots[i], start, start + count)) {
                indexUse[i] = indexClock;
                return indexBuffers[i];
            }
        int slot = -1;
        for (int i = 0; i < 2 && slot < 0; i++) if (indexKeys[i] == rows) slot = i;
        if (slot < 0) slot = indexUse[0] <= indexUse[1] ? 0 : 1; // least recently used
        indexUse[slot] = indexClock;
        if (indexBuffers[slot] == null || indexBuffers[slot].capacity() < rows.length) {
            if (indexBuffers[slot] != null) indexBuffers[slot].free();
            indexBuffers[slot] = pool.allocate(Math.max(1, rows.length));
        }
        DeviceBuffer d = indexBuffers[slot];
        synchronized (staging) {
            for (int from = 0; from < rows.length; from += STAGING_FLOATS) {
                int len = Math.min(STAGING_FLOATS, rows.length - from);
                stagingInts.put(0, rows, from, len);
                check(cuMemcpyHtoDAsync(d.pointer(from), staging, (long) len * Integer.BYTES, stream), "cuMemcpyHtoDAsync (gatherRows indices)");
                syncStream();
            }
        }
        indexKeys[slot] = rows;
        indexSnapshots[slot] = rows.clone();
        return d;
    }

    @Override
    public void copyIntoColumns(Tensor src, Tensor dst, int col0) {
        String op = "copyIntoColumns";
        DeviceBuffer ss = st(src, op), sd = st(dst, op);
        if (src.rows() != dst.rows() || col0 < 0 || col0 + src.cols() > dst.cols())
            throw new BackendException(op + ": src " + src.shape() + " does not fit dst " + dst.shape() + " at column " + col0);
        if (ss == sd && overlaps(src, dst)) throw new BackendException(op + ": dst " + dst + " overlaps src " + src);
        if (src.size() == 0) return;
        launch("fl_copy_into_columns", src.size(), src.rows(), src.cols(), dst.cols(), col0, addr(ss, src), addr(sd, dst));
    }

    @Override
    public void fill(Tensor t, float value) {
        DeviceBuffer d = st(t, "fill");
        if (t.size() == 0) return;
        check(cuMemsetD32Async(d.pointer(t.offset()), Float.floatToRawIntBits(value), t.size(), stream), "cuMemsetD32Async (fill)");
    }

    @Override
    public void synchronize() {
        if (closed) return;
        noCapture("synchronize");
        bindThread();
        syncStream();
    }

    @Override
    public void release(Tensor owner) {
        if (owner == null) return;
        noCapture("closing a tensor");
        DeviceBuffer d;
        synchronized (live) {
            d = live.remove(owner);
        }
        if (d != null) d.free();
    }

    /**
     * Device bytes held by live tensors (rounded up to the pool's size classes) and the backend's own
     * buffers (reduction partials, RNG state, cuBLAS workspace): it returns to its previous value when
     * tensors are closed. Freed blocks kept for reuse are reported by {@link #cachedBytes()}.
     */
    @Override
    public long bytesInUse() { return pool.liveBytes(); }

    /** Device bytes of freed blocks the pool keeps for reuse (returned to the driver by {@link #trimCache()}). */
    public long cachedBytes() { return pool.cachedBytes(); }

    @Override
    public void close() {
        List<Tensor> open;
        synchronized (live) {
            if (closed) return;
            open = new ArrayList<>(live.keySet());
        }
        bindThread();
        for (Tensor t : open) t.close();
        closed = true;
        try {
            syncStream();
        } finally {
            JCublas2.cublasDestroy(cublas); // before its workspace goes
            partials.free();
            rngState.free();
            for (DeviceBuffer ib : indexBuffers) if (ib != null) ib.free();
            cublasWorkspace.free();
            pool.close();
            cuMemFreeHost(staging);
            kernels.close();
            cuStreamDestroy(stream);
            cuDevicePrimaryCtxRelease(device);
            if (BOUND.get() == this) BOUND.remove();
        }
    }

    // =================================================================================== BLAS

    @Override
    public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        DeviceBuffer sa = st(a, "gemm"), sb = st(b, "gemm"), sc = st(c, "gemm");
        int[] mnk = Checks.gemm(transA, transB, a, sa, b, sb, c, sc);
        int m = mnk[0], n = mnk[1], k = mnk[2];
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f) { // C = beta * C, beta == 0 ignores C (even NaN)
            if (beta == 0f) fill(c, 0f);
            else if (beta != 1f) launch("fl_axpby", c.size(), c.size(), 0f, addr(sc, c), beta, addr(sc, c));
            return;
        }
        int rc = CublasGemm.sgemmRowMajor(cublas, transA, transB, m, n, k, alpha, sa.pointer(a.offset()), a.cols(),
                sb.pointer(b.offset()), b.cols(), beta, sc.pointer(c.offset()), c.cols());
        if (rc != cublasStatus.CUBLAS_STATUS_SUCCESS)
            throw new BackendException("gemm: cublasSgemm failed: " + cublasStatus.stringFor(rc) + " (op(A) " + m + "x" + k
                    + " from A " + a.shape() + (transA ? "^T" : "") + ", op(B) " + k + "x" + n + " from B " + b.shape()
                    + (transB ? "^T" : "") + ", C " + c.shape() + ")");
    }

    /**
     * p = l^T l, exactly symmetric: cublasSsyrk writes the upper triangle (half a GEMM's work), then
     * kernel fl_mirror_upper copies it onto the strict lower one (the twin of CpuBackend's mirror).
     * {@code shape} is not exploited here.
     */
    @Override
    public void gram(Tensor l, Triangle shape, Tensor p) {
        DeviceBuffer sl = st(l, "gram"), sp = st(p, "gram");
        Checks.gram(l, sl, shape, p, sp);
        int n = l.rows();
        if (n == 0) return;
        int rc = CublasGemm.ssyrkGramUpperRowMajor(cublas, n, sl.pointer(l.offset()), sp.pointer(p.offset()));
        if (rc != cublasStatus.CUBLAS_STATUS_SUCCESS)
            throw new BackendException("gram: cublasSsyrk failed: " + cublasStatus.stringFor(rc) + " (l " + l.shape() + ")");
        launch("fl_mirror_upper", p.size(), n, addr(sp, p));
    }

    // =================================================================================== elementwise

    @Override
    public void axpby(float alpha, Tensor x, float beta, Tensor y) {
        DeviceBuffer sx = st(x, "axpby"), sy = st(y, "axpby");
        sameSize("axpby", "x", x, "y", y);
        noPartialOverlap("axpby", "x", x, sx, "y", y, sy);
        if (y.size() == 0 || (beta == 1f && alpha == 0f)) return;
        launch("fl_axpby", y.size(), y.size(), alpha, addr(sx, x), beta, addr(sy, y));
    }

    @Override
    public void mul(Tensor x, Tensor y, Tensor out) {
        DeviceBuffer sx = st(x, "mul"), sy = st(y, "mul"), so = st(out, "mul");
        twoInOneOut("mul", "x", x, sx, "y", y, sy, "out", out, so);
        if (x.size() == 0) return;
        launch("fl_mul", x.size(), x.size(), addr(sx, x), addr(sy, y), addr(so, out));
    }

    @Override
    public void clamp(Tensor x, float lo, float hi) {
        DeviceBuffer sx = st(x, "clamp");
        if (!(lo <= hi)) throw new BackendException("clamp: empty interval [" + lo + ", " + hi + "] for " + x.shape());
        if (x.size() == 0) return;
        launch("fl_clamp", x.size(), x.size(), addr(sx, x), lo, hi);
    }

    @Override
    public void addRowVector(Tensor m, Tensor row) {
        DeviceBuffer sm = st(m, "addRowVector"), sr = st(row, "addRowVector");
        rowVector("addRowVector", m, sm, row, sr);
        if (m.size() == 0) return;
        launch("fl_add_row_vector", m.size(), m.rows(), m.cols(), addr(sm, m), addr(sr, row));
    }

    @Override
    public void columnSums(float alpha, Tensor m, float beta, Tensor out) {
        DeviceBuffer sm = st(m, "columnSums"), so = st(out, "columnSums");
        columnSumsOut("columnSums", m, sm, out, so);
        if (m.cols() == 0) return;
        kernels.launch2d("fl_column_sums", (m.cols() + 31) / 32, 1, 32, 8, stream,
                m.rows(), m.cols(), alpha, addr(sm, m), beta, addr(so, out));
    }

    @Override
    public void activation(Activation phi, Tensor a, Tensor h) {
        DeviceBuffer sa = st(a, "activation"), sh = st(h, "activation");
        if (phi == null) throw new BackendException("activation: null activation");
        sameShape("activation", "a", a, "h", h);
        noPartialOverlap("activation", "a", a, sa, "h", h, sh);
        if (a.size() == 0 || (phi == Activation.IDENTITY && sa == sh && a.offset() == h.offset())) return;
        launch("fl_activation", a.size(), a.size(), phi.ordinal(), addr(sa, a), addr(sh, h));
    }

    @Override
    public void activationDerivMul(Activation phi, Tensor a, Tensor g, Tensor out) {
        activationMul("activationDerivMul", "fl_activation_deriv_mul", phi, a, g, out);
    }

    @Override
    public void activationSecondDerivMul(Activation phi, Tensor a, Tensor g, Tensor out) {
        activationMul("activationSecondDerivMul", "fl_activation_second_mul", phi, a, g, out);
    }

    private void activationMul(String op, String kernel, Activation phi, Tensor a, Tensor g, Tensor out) {
        DeviceBuffer sa = st(a, op), sg = st(g, op), so = st(out, op);
        if (phi == null) throw new BackendException(op + ": null activation");
        twoInOneOut(op, "a", a, sa, "g", g, sg, "out", out, so);
        if (a.size() == 0) return;
        launch(kernel, a.size(), a.size(), phi.ordinal(), addr(sa, a), addr(sg, g), addr(so, out));
    }

    @Override
    public void triangularMask(Tensor t, boolean upper) {
        DeviceBuffer s = st(t, "triangularMask");
        square("triangularMask", t);
        if (t.size() == 0) return;
        launch("fl_triangular_mask", t.size(), t.cols(), addr(s, t), upper ? 1 : 0);
    }

    @Override
    public void setIdentity(Tensor t, float s) {
        DeviceBuffer d = st(t, "setIdentity");
        square("setIdentity", t);
        if (t.size() == 0) return;
        launch("fl_set_identity", t.size(), t.cols(), addr(d, t), s);
    }

    // =================================================================================== reductions

    private static final int RED_DOT = 0, RED_SUMSQ = 1, RED_NONFINITE = 2, RED_SQDIFF = 3;

    private void reduce(int op, int n, long x, long y, double scale, long out) {
        int blocks = Kernels.reduceBlocks(n);
        kernels.launch("fl_reduce_partial", blocks, Kernels.THREADS, stream, op, n, x, y, partials.address());
        kernels.launch("fl_reduce_final", 1, Kernels.THREADS, stream, blocks, partials.address(), scale, out);
    }

    @Override
    public void dot(Tensor x, Tensor y, Tensor out) {
        DeviceBuffer sx = st(x, "dot"), sy = st(y, "dot"), so = st(out, "dot");
        sameSize("dot", "x", x, "y", y);
        scalar("dot", "out", out);
        reduce(RED_DOT, x.size(), addr(sx, x), addr(sy, y), 1.0, addr(so, out));
    }

    @Override
    public void sumSquares(Tensor x, Tensor out) {
        DeviceBuffer sx = st(x, "sumSquares"), so = st(out, "sumSquares");
        scalar("sumSquares", "out", out);
        reduce(RED_SUMSQ, x.size(), addr(sx, x), 0L, 1.0, addr(so, out));
    }

    @Override
    public void countNonFinite(Tensor x, Tensor out) {
        DeviceBuffer sx = st(x, "countNonFinite"), so = st(out, "countNonFinite");
        scalar("countNonFinite", "out", out);
        reduce(RED_NONFINITE, x.size(), addr(sx, x), 0L, 1.0, addr(so, out));
    }

    @Override
    public void scaleByScalar(Tensor x, Tensor s, float power, float alpha, Tensor y) {
        String op = "scaleByScalar";
        DeviceBuffer sx = st(x, op), ss = st(s, op), sy = st(y, op);
        scalar(op, "s", s);
        sameSize(op, "x", x, "y", y);
        noPartialOverlap(op, "x", x, sx, "y", y, sy);
        if (sy == ss && overlaps(y, s) && y.size() > 1)
            throw new BackendException(op + ": y " + y + " overlaps the scalar s " + s);
        if (y.size() == 0) return;
        launch("fl_scale_by_scalar", y.size(), y.size(), addr(sx, x), addr(ss, s), power, alpha, addr(sy, y));
    }

    @Override
    public void scalarMulAdd(float alpha, Tensor a, Tensor b, float beta, Tensor out) {
        String op = "scalarMulAdd";
        DeviceBuffer sa = st(a, op), sb = st(b, op), so = st(out, op);
        scalars(op, new String[] {"a", "b", "out"}, a, b, out);
        kernels.launch("fl_scalar_mul_add", 1, 32, stream, alpha, addr(sa, a), addr(sb, b), beta, addr(so, out));
    }

    // =================================================================================== likelihoods

    /** Device address of sigma for GAUSSIAN (checked 1x1), 0 for the other kinds. */
    private long sigmaAddr(String op, LikelihoodKind kind, Tensor sigma) {
        if (kind != LikelihoodKind.GAUSSIAN) return 0L;
        if (sigma == null) throw new BackendException(op + ": GAUSSIAN needs a 1x1 sigma tensor, got null");
        DeviceBuffer s = st(sigma, op);
        scalar(op, "sigma", sigma);
        return addr(s, sigma);
    }

    @Override
    public void nll(LikelihoodKind kind, Tensor f, Tensor y, Tensor sigma, Tensor out) {
        String op = "nll";
        if (kind == null) throw new BackendException(op + ": null likelihood kind");
        DeviceBuffer sf = st(f, op), sy = st(y, op), so = st(out, op);
        sameShape(op, "f", f, "y", y);
        scalar(op, "out", out);
        long sg = sigmaAddr(op, kind, sigma);
        int rows = f.rows();
        if (rows == 0) { fill(out, 0f); return; }
        int blocks = Kernels.rowBlocks(rows);
        kernels.launch("fl_nll_partial", blocks, Kernels.THREADS, stream, kind.ordinal(), rows, f.cols(),
                addr(sf, f), addr(sy, y), sg, partials.address());
        kernels.launch("fl_reduce_final", 1, Kernels.THREADS, stream, blocks, partials.address(), 1.0 / rows, addr(so, out));
    }

    @Override
    public void nllGrad(LikelihoodKind kind, Tensor f, Tensor y, Tensor sigma, float scale, Tensor grad) {
        String op = "nllGrad";
        if (kind == null) throw new BackendException(op + ": null likelihood kind");
        DeviceBuffer sf = st(f, op), sy = st(y, op), sg = st(grad, op);
        twoInOneOut(op, "f", f, sf, "y", y, sy, "grad", grad, sg);
        long sig = sigmaAddr(op, kind, sigma);
        if (f.size() == 0) return;
        launchRows("fl_nll_grad", f.rows(), kind.ordinal(), f.rows(), f.cols(), addr(sf, f), addr(sy, y), sig, scale, addr(sg, grad));
    }

    @Override
    public void gaussianSigmaGrad(Tensor f, Tensor y, Tensor sigma, float scale, Tensor out) {
        String op = "gaussianSigmaGrad";
        DeviceBuffer sf = st(f, op), sy = st(y, op), so = st(out, op);
        sameShape(op, "f", f, "y", y);
        scalar(op, "out", out);
        long sig = sigmaAddr(op, LikelihoodKind.GAUSSIAN, sigma);
        int n = f.size();
        int blocks = Kernels.reduceBlocks(n);
        kernels.launch("fl_reduce_partial", blocks, Kernels.THREADS, stream, RED_SQDIFF, n, addr(sf, f), addr(sy, y), partials.address());
        kernels.launch("fl_sigma_grad_final", 1, Kernels.THREADS, stream, blocks, partials.address(), n, sig, scale, addr(so, out));
    }

    @Override
    public void outputHessianVec(LikelihoodKind kind, Tensor f, Tensor sigma, Tensor v, float scale, Tensor out) {
        String op = "outputHessianVec";
        if (kind == null) throw new BackendException(op + ": null likelihood kind");
        DeviceBuffer sf = st(f, op), sv = st(v, op), so = st(out, op);
        twoInOneOut(op, "f", f, sf, "v", v, sv, "out", out, so);
        long sig = sigmaAddr(op, kind, sigma);
        if (f.size() == 0) return;
        launchRows("fl_output_hessian_vec", f.rows(), kind.ordinal(), f.rows(), f.cols(), addr(sf, f), sig, addr(sv, v), scale, addr(so, out));
    }

    @Override
    public void sampleTargets(LikelihoodKind kind, Tensor f, Tensor sigma, Tensor noise, Tensor y) {
        String op = "sampleTargets";
        if (kind == null) throw new BackendException(op + ": null likelihood kind");
        DeviceBuffer sf = st(f, op), sn = st(noise, op), sy = st(y, op);
        twoInOneOut(op, "f", f, sf, "noise", noise, sn, "y", y, sy);
        long sig = sigmaAddr(op, kind, sigma);
        if (f.size() == 0) return;
        launchRows("fl_sample_targets", f.rows(), kind.ordinal(), f.rows(), f.cols(), addr(sf, f), sig, addr(sn, noise), addr(sy, y));
    }

    // =================================================================================== fused optimizer updates

    @Override
    public void momentumStep(Tensor p, Tensor g, Tensor m, float lr, float mu, float dampening, float wd, boolean nesterov) {
        String op = "momentumStep";
        DeviceBuffer sp = st(p, op), sg = st(g, op), sm = st(m, op);
        fusedUpdate(op, new String[] {"p", "g", "m"}, new Tensor[] {p, g, m}, new Tensor.Storage[] {sp, sg, sm});
        if (p.size() == 0) return;
        launch("fl_momentum_step", p.size(), p.size(), addr(sp, p), addr(sg, g), addr(sm, m), lr, mu, dampening, wd, nesterov ? 1 : 0);
    }

    @Override
    public void adamStep(Tensor p, Tensor g, Tensor m, Tensor v, float lr, float b1, float b2, float eps,
                         float l2, float decoupledWd, float bc1, float bc2) {
        String op = "adamStep";
        DeviceBuffer sp = st(p, op), sg = st(g, op), sm = st(m, op), sv = st(v, op);
        fusedUpdate(op, new String[] {"p", "g", "m", "v"}, new Tensor[] {p, g, m, v}, new Tensor.Storage[] {sp, sg, sm, sv});
        if (!(bc1 > 0f) || !(bc2 > 0f))
            throw new BackendException(op + ": bias corrections must be > 0 (step t >= 1), got bc1 = " + bc1 + ", bc2 = " + bc2);
        if (p.size() == 0) return;
        launch("fl_adam_step", p.size(), p.size(), addr(sp, p), addr(sg, g), addr(sm, m), addr(sv, v),
                lr, b1, b2, eps, l2, decoupledWd, 1f / bc1, 1f / bc2);
    }

    @Override
    public void adamStepAt(Tensor p, Tensor g, Tensor m, Tensor v, float lr, float b1, float b2, float eps,
                           float l2, float decoupledWd, Tensor step) {
        String op = "adamStepAt";
        DeviceBuffer sp = st(p, op), sg = st(g, op), sm = st(m, op), sv = st(v, op), ss = st(step, op);
        String[] names = {"p", "g", "m", "v"};
        Tensor[] ts = {p, g, m, v};
        Tensor.Storage[] sts = {sp, sg, sm, sv};
        fusedUpdate(op, names, ts, sts);
        stepScalar(op, step, ss, ts, sts, names);
        if (p.size() == 0) return;
        launch("fl_adam_step_at", p.size(), p.size(), addr(sp, p), addr(sg, g), addr(sm, m), addr(sv, v),
                lr, b1, b2, eps, l2, decoupledWd, addr(ss, step));
    }

    // =================================================================================== random numbers

    @Override
    public void setSeed(long seed) { setRngState(seed, 0L); }

    @Override
    public long seed() { return seed; }

    /** Reads the device-side offset (waits for queued work). */
    @Override
    public long rngOffset() {
        if (closed) throw new BackendException("rngOffset: cuda backend is closed");
        noCapture("rngOffset");
        bindThread();
        synchronized (staging) {
            check(cuMemcpyDtoHAsync(staging, rngState.pointer(0), 2L * Long.BYTES, stream), "cuMemcpyDtoHAsync (rngOffset)");
            syncStream();
            return stagingLongs.get(1);
        }
    }

    @Override
    public void setRngState(long seed, long offset) {
        if (offset < 0) throw new BackendException("setRngState: negative offset " + offset);
        if (closed) throw new BackendException("setRngState: cuda backend is closed");
        noCapture("setRngState");
        bindThread();
        synchronized (staging) {
            stagingLongs.put(0, seed);
            stagingLongs.put(1, offset);
            check(cuMemcpyHtoDAsync(rngState.pointer(0), staging, 2L * Long.BYTES, stream), "cuMemcpyHtoDAsync (setRngState)");
            syncStream();
        }
        this.seed = seed;
    }

    @Override
    public void randUniform(Tensor t) {
        DeviceBuffer s = st(t, "randUniform");
        int n = t.size();
        if (n == 0) return;
        long counters = ((long) n + 3) / 4;
        launch("fl_rand_uniform", counters, n, rngState.address(), addr(s, t));
        kernels.launch("fl_rng_advance", 1, 32, stream, rngState.address(), counters);
    }

    @Override
    public void randNormal(Tensor t, float mean, float std) {
        DeviceBuffer s = st(t, "randNormal");
        int n = t.size();
        if (n == 0) return;
        long counters = ((long) n + 1) / 2;
        launch("fl_rand_normal", counters, n, rngState.address(), mean, std, addr(s, t));
        kernels.launch("fl_rng_advance", 1, 32, stream, rngState.address(), counters);
    }

    @Override
    public String toString() { return "CudaBackend[device " + ordinal + ", " + description + "]"; }
}
