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
import org.fishleg.backend.AbstractBackend;
import org.fishleg.backend.Activation;
import org.fishleg.backend.Backend;
import org.fishleg.backend.BackendException;
import org.fishleg.backend.BackendOptions;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.backend.Tensor;

/**
 * The CUDA backend: JCuda driver API on the device's primary context, every operation queued on
 * the backend's own (non-blocking) stream, cuBLAS (JCublas2) for matrix products, the project's
 * kernels (cuda/*.cu, {@link Kernels}) for everything else, device memory from a caching
 * {@link DevicePool}. Only {@link #download}, {@link #readScalar}, {@link #rngOffset} and
 * {@link #synchronize} wait for the stream; no other operation copies data to or from the host.
 *
 * <p>Arguments are checked once by {@link AbstractBackend}; the kernel launches live in package-private
 * files by family, one per kernel file in cuda/: CudaElementwise (elementwise.cuh), CudaReduce
 * (reduce.cuh), CudaLikelihood (likelihood.cuh), CudaOptim (optim.cuh), CudaRandom (random.cuh), with
 * CudaLauncher for the launch geometry (common.cuh) and CublasGemm for the products. This class holds
 * the context, stream, memory, staging, graphs and the random stream state.
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
public final class CudaBackend extends AbstractBackend<DeviceBuffer> {
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
    /** The op families, one per kernel file in cuda/ (elementwise.cuh, reduce.cuh, likelihood.cuh, optim.cuh, random.cuh). */
    private final CudaElementwise elementwise;
    private final CudaReduce reduce;
    private final CudaLikelihood likelihood;
    private final CudaOptim optim;
    private final CudaRandom random;
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
        CudaLauncher launcher = new CudaLauncher(k, stream);
        elementwise = new CudaElementwise(launcher);
        reduce = new CudaReduce(launcher, part);
        likelihood = new CudaLikelihood(launcher, part);
        optim = new CudaOptim(launcher);
        random = new CudaRandom(launcher, rng);
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

    @Override
    protected boolean isClosed() { return closed; }

    private static void check(int rc, String what) {
        if (rc != CUresult.CUDA_SUCCESS) throw new BackendException("cuda: " + what + " failed: " + CUresult.stringFor(rc));
    }

    private static void checkBlas(int rc, String what) {
        if (rc != cublasStatus.CUBLAS_STATUS_SUCCESS)
            throw new BackendException("cuda: " + what + " failed: " + cublasStatus.stringFor(rc));
    }

    @Override
    protected DeviceBuffer storage(String op, Tensor t) {
        DeviceBuffer d = checkedStorage(op, t, DeviceBuffer.class);
        if (d.isFreed()) throw new BackendException(op + ": tensor " + t.shape() + " used after its storage was freed");
        bindThread();
        return d;
    }


    // =================================================================================== memory

    @Override
    protected Tensor doZeros(int rows, int cols) {
        Tensor t = allocate(rows, cols, "zeros");
        DeviceBuffer d = (DeviceBuffer) t.storage();
        if (t.size() > 0) check(cuMemsetD32Async(d.pointer(0), 0, t.size(), stream), "cuMemsetD32Async");
        return t;
    }

    /** A new tensor of a checked shape, its memory uninitialised. */
    private Tensor allocate(int rows, int cols, String op) {
        noCapture(op);
        bindThread();
        DeviceBuffer d = pool.allocate((long) rows * cols);
        Tensor t = new Tensor(this, d, rows, cols);
        synchronized (live) { live.put(t, d); }
        return t;
    }

    @Override
    protected Tensor doUpload(float[] host, int rows, int cols) {
        Tensor t = allocate(rows, cols, "upload");
        doUpload(host, t, storage("upload", t));
        return t;
    }

    @Override
    protected void doUpload(float[] host, Tensor dst, DeviceBuffer d) {
        noCapture("upload");
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
    protected void doDownload(Tensor src, DeviceBuffer d, float[] dst) {
        noCapture("download");
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
    protected float doReadScalar(Tensor scalar, DeviceBuffer d) {
        noCapture("readScalar");
        synchronized (staging) {
            check(cuMemcpyDtoHAsync(staging, d.pointer(scalar.offset()), Float.BYTES, stream), "cuMemcpyDtoHAsync (readScalar)");
            syncStream();
            return stagingFloats.get(0);
        }
    }

    @Override
    protected void doCopy(Tensor src, DeviceBuffer ss, Tensor dst, DeviceBuffer sd) {
        long bytes = (long) src.size() * Float.BYTES;
        if (ss == sd && overlaps(src, dst)) { // memmove through a pooled temporary
            noCapture("copy between overlapping ranges");
            DeviceBuffer tmp = pool.allocate(src.size());
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
    protected void doGatherRows(Tensor src, DeviceBuffer ss, int[] rows, int start, Tensor dst, DeviceBuffer sd) {
        String op = "gatherRows";
        if (ss == sd && overlaps(src, dst)) throw new BackendException(op + ": dst " + dst + " overlaps src " + src);
        if (dst.size() == 0) return;
        noCapture(op);
        DeviceBuffer idx = deviceIndices(rows, start, dst.rows());
        elementwise.gatherRows(src, ss, idx, start, dst, sd);
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

    /** One kernel instead of one copy per row. */
    @Override
    protected void doCopyIntoColumns(Tensor src, DeviceBuffer ss, Tensor dst, DeviceBuffer sd, int col0) {
        String op = "copyIntoColumns";
        if (ss == sd && overlaps(src, dst)) throw new BackendException(op + ": dst " + dst + " overlaps src " + src);
        elementwise.copyIntoColumns(src, ss, dst, sd, col0);
    }

    @Override
    protected void doFill(Tensor t, DeviceBuffer d, float value) {
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
    protected void doGemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, DeviceBuffer sa,
                          Tensor b, DeviceBuffer sb, float beta, Tensor c, DeviceBuffer sc) {
        if (k == 0 || alpha == 0f) { // C = beta * C, beta == 0 ignores C (even NaN)
            if (beta == 0f) doFill(c, sc, 0f);
            else if (beta != 1f) elementwise.scale(beta, c, sc);
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
    protected void doGram(Tensor l, DeviceBuffer sl, Triangle shape, Tensor p, DeviceBuffer sp) {
        int n = l.rows();
        if (n == 0) return;
        int rc = CublasGemm.ssyrkGramUpperRowMajor(cublas, n, sl.pointer(l.offset()), sp.pointer(p.offset()));
        if (rc != cublasStatus.CUBLAS_STATUS_SUCCESS)
            throw new BackendException("gram: cublasSsyrk failed: " + cublasStatus.stringFor(rc) + " (l " + l.shape() + ")");
        elementwise.mirrorUpper(p, sp, n);
    }

    // =================================================================================== elementwise (CudaElementwise)

    @Override
    protected void doAxpby(float alpha, Tensor x, DeviceBuffer sx, float beta, Tensor y, DeviceBuffer sy) {
        elementwise.axpby(alpha, x, sx, beta, y, sy);
    }

    @Override
    protected void doMul(Tensor x, DeviceBuffer sx, Tensor y, DeviceBuffer sy, Tensor out, DeviceBuffer so) {
        elementwise.mul(x, sx, y, sy, out, so);
    }

    @Override
    protected void doClamp(Tensor x, DeviceBuffer sx, float lo, float hi) { elementwise.clamp(x, sx, lo, hi); }

    @Override
    protected void doAddRowVector(Tensor m, DeviceBuffer sm, Tensor row, DeviceBuffer sr) { elementwise.addRowVector(m, sm, row, sr); }

    @Override
    protected void doColumnSums(float alpha, Tensor m, DeviceBuffer sm, float beta, Tensor out, DeviceBuffer so) {
        elementwise.columnSums(alpha, m, sm, beta, out, so);
    }

    @Override
    protected void doActivation(Activation phi, Tensor a, DeviceBuffer sa, Tensor h, DeviceBuffer sh) {
        elementwise.activation(phi, a, sa, h, sh);
    }

    @Override
    protected void doActivationDerivMul(Activation phi, Tensor a, DeviceBuffer sa, Tensor g, DeviceBuffer sg, Tensor out,
                                        DeviceBuffer so) {
        elementwise.activationMul("fl_activation_deriv_mul", phi, a, sa, g, sg, out, so);
    }

    @Override
    protected void doActivationSecondDerivMul(Activation phi, Tensor a, DeviceBuffer sa, Tensor g, DeviceBuffer sg, Tensor out,
                                              DeviceBuffer so) {
        elementwise.activationMul("fl_activation_second_mul", phi, a, sa, g, sg, out, so);
    }

    @Override
    protected void doTriangularMask(Tensor t, DeviceBuffer s, boolean upper) { elementwise.triangularMask(t, s, upper); }

    @Override
    protected void doSetIdentity(Tensor t, DeviceBuffer d, float s) { elementwise.setIdentity(t, d, s); }

    // =================================================================================== reductions (CudaReduce)

    @Override
    protected void doDot(Tensor x, DeviceBuffer sx, Tensor y, DeviceBuffer sy, Tensor out, DeviceBuffer so) {
        reduce.dot(x, sx, y, sy, out, so);
    }

    @Override
    protected void doSumSquares(Tensor x, DeviceBuffer sx, Tensor out, DeviceBuffer so) { reduce.sumSquares(x, sx, out, so); }

    @Override
    protected void doCountNonFinite(Tensor x, DeviceBuffer sx, Tensor out, DeviceBuffer so) { reduce.countNonFinite(x, sx, out, so); }

    @Override
    protected void doScaleByScalar(Tensor x, DeviceBuffer sx, Tensor s, DeviceBuffer ss, float power, float alpha, Tensor y,
                                   DeviceBuffer sy) {
        reduce.scaleByScalar(x, sx, s, ss, power, alpha, y, sy);
    }

    @Override
    protected void doScalarMulAdd(float alpha, Tensor a, DeviceBuffer sa, Tensor b, DeviceBuffer sb, float beta, Tensor out,
                                  DeviceBuffer so) {
        reduce.scalarMulAdd(alpha, a, sa, b, sb, beta, out, so);
    }

    // =================================================================================== likelihoods (CudaLikelihood)

    @Override
    protected void doNll(LikelihoodKind kind, Tensor f, DeviceBuffer sf, Tensor y, DeviceBuffer sy, Tensor sigma, DeviceBuffer ss,
                         Tensor out, DeviceBuffer so) {
        if (f.rows() == 0) { doFill(out, so, 0f); return; }
        likelihood.nll(kind, f, sf, y, sy, sigma, ss, out, so);
    }

    @Override
    protected void doNllGrad(LikelihoodKind kind, Tensor f, DeviceBuffer sf, Tensor y, DeviceBuffer sy, Tensor sigma,
                             DeviceBuffer ss, float scale, Tensor grad, DeviceBuffer sg) {
        likelihood.nllGrad(kind, f, sf, y, sy, sigma, ss, scale, grad, sg);
    }

    @Override
    protected void doGaussianSigmaGrad(Tensor f, DeviceBuffer sf, Tensor y, DeviceBuffer sy, Tensor sigma, DeviceBuffer ss,
                                       float scale, Tensor out, DeviceBuffer so) {
        likelihood.gaussianSigmaGrad(f, sf, y, sy, sigma, ss, scale, out, so);
    }

    @Override
    protected void doOutputHessianVec(LikelihoodKind kind, Tensor f, DeviceBuffer sf, Tensor sigma, DeviceBuffer ss, Tensor v,
                                      DeviceBuffer sv, float scale, Tensor out, DeviceBuffer so) {
        likelihood.outputHessianVec(kind, f, sf, sigma, ss, v, sv, scale, out, so);
    }

    @Override
    protected void doSampleTargets(LikelihoodKind kind, Tensor f, DeviceBuffer sf, Tensor sigma, DeviceBuffer ss, Tensor noise,
                                   DeviceBuffer sn, Tensor y, DeviceBuffer sy) {
        likelihood.sampleTargets(kind, f, sf, sigma, ss, noise, sn, y, sy);
    }

    // =================================================================================== fused optimizer updates (CudaOptim)

    @Override
    protected void doMomentumStep(Tensor p, DeviceBuffer sp, Tensor g, DeviceBuffer sg, Tensor m, DeviceBuffer sm, float lr, float mu,
                                  float dampening, float wd, boolean nesterov) {
        optim.momentumStep(p, sp, g, sg, m, sm, lr, mu, dampening, wd, nesterov);
    }

    @Override
    protected void doAdamStep(Tensor p, DeviceBuffer sp, Tensor g, DeviceBuffer sg, Tensor m, DeviceBuffer sm, Tensor v,
                              DeviceBuffer sv, float lr, float b1, float b2, float eps, float l2, float decoupledWd, float bc1, float bc2) {
        optim.adamStep(p, sp, g, sg, m, sm, v, sv, lr, b1, b2, eps, l2, decoupledWd, bc1, bc2);
    }

    @Override
    protected void doAdamStepAt(Tensor p, DeviceBuffer sp, Tensor g, DeviceBuffer sg, Tensor m, DeviceBuffer sm, Tensor v,
                                DeviceBuffer sv, float lr, float b1, float b2, float eps, float l2, float decoupledWd, Tensor step,
                                DeviceBuffer ss) {
        optim.adamStepAt(p, sp, g, sg, m, sm, v, sv, lr, b1, b2, eps, l2, decoupledWd, step, ss);
    }

    // =================================================================================== random numbers (CudaRandom)

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
    protected void doSetRngState(long seed, long offset) {
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
    protected void doRandUniform(Tensor t, DeviceBuffer s) { random.uniform(t, s); }

    @Override
    protected void doRandNormal(Tensor t, DeviceBuffer s, float mean, float std) { random.normal(t, s, mean, std); }

    @Override
    public String toString() { return "CudaBackend[device " + ordinal + ", " + description + "]"; }
}
