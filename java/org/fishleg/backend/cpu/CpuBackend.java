package org.fishleg.backend.cpu;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.fishleg.backend.Activation;
import org.fishleg.backend.Backend;
import org.fishleg.backend.BackendException;
import org.fishleg.backend.BackendOptions;
import org.fishleg.backend.Backend.Triangle;
import org.fishleg.backend.Checks;
import static org.fishleg.backend.Checks.*;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.backend.Philox;
import org.fishleg.backend.Tensor;

/**
 * The CPU backend: tensors in off-heap native memory ({@link CpuStorage}: calloc'd, seen from Java as a
 * direct native-order FloatBuffer), GEMM through OpenBLAS ({@code cblas_sgemm} on that memory in place,
 * no copies), everything else as Java loops written for C2 (no per-element virtual calls, no allocation,
 * branch-free masks, transcendental functions from {@link CpuMath}).
 *
 * <h2>Threads</h2>
 * One pool of {@code availableProcessors()} threads ({@link CpuPool}: the caller plus daemon workers; override
 * with {@code -Dfishleg.cpu.threads=N}) runs everything:
 * <ul>
 *   <li>loops over more than {@link #PARALLEL_THRESHOLD} elements are split into cache-line aligned chunks;</li>
 *   <li>reductions accumulate in double over fixed blocks of {@link #REDUCE_BLOCK} elements combined in
 *       block order, so they are deterministic and independent of the thread count;</li>
 *   <li>GEMMs above {@link #SPLIT_MIN_FLOPS} flops are split into row or column blocks of C, each computed by a
 *       single-threaded OpenBLAS call on a pool thread. OpenBLAS's own threads would busy-wait for ~0.1 s
 *       after every call and slow the Java loops that follow each GEMM in a training step by 2-4x
 *       (see docs/BENCHMARKS.md); {@code -Dfishleg.cpu.gemmThreads=openblas} restores OpenBLAS threading.</li>
 * </ul>
 *
 * <p>All operations are synchronous; {@link #synchronize()} is a no-op. An instance is meant to be used
 * from one thread at a time (like a CUDA stream). Shape errors throw {@link BackendException} naming the
 * operation and the shapes; tensors of another backend, closed tensors and a closed backend are rejected.
 */
public final class CpuBackend implements Backend {

    /** Loops over more elements than this are split over the worker threads. */
    static final int PARALLEL_THRESHOLD = 32768;
    /** Smallest chunk handed to one thread (a multiple of 16 floats = one cache line). */
    static final int MIN_CHUNK = 16384;
    /** Fixed block of a reduction: each block is summed in double, blocks are combined in order. */
    static final int REDUCE_BLOCK = 8192;
    /** Philox counters per parallel chunk of a random fill. */
    private static final int RNG_CHUNK_COUNTERS = 4096;

    /**
     * System property choosing how GEMM uses the cores: "java" (default) splits C into blocks computed by
     * single-threaded OpenBLAS calls on the backend's own worker threads; "openblas" lets OpenBLAS run its
     * own threads. See {@link #gemm} and {@link BackendOptions#gemmThreading()}.
     */
    public static final String GEMM_THREADS_PROPERTY = BackendOptions.GEMM_THREADS_PROPERTY;
    /** Products below this many flops (2 m n k) are not split: one OpenBLAS call on the caller's thread. */
    static final long SPLIT_MIN_FLOPS = 1L << 21;

    private static final String OPENBLAS_VERSION;
    private static final String CPU_MODEL;

    static {
        String v;
        try {
            v = openblas_nolapack.OPENBLAS_VERSION == null ? "OpenBLAS" : openblas_nolapack.OPENBLAS_VERSION.trim();
        } catch (LinkageError e) {
            throw new BackendException("cpu: cannot load OpenBLAS through JavaCPP: " + e, e);
        }
        OPENBLAS_VERSION = v;
        CPU_MODEL = readCpuModel();
    }

    /** Threads OpenBLAS was last told to use (it is one library per JVM); -1 before the first backend. */
    private static int openblasThreads = -1;

    private final CpuPool pool;
    /** True: GEMM blocks on the Java pool, OpenBLAS single-threaded. False: OpenBLAS's own threads. */
    private final boolean splitGemm;
    private final Map<Tensor, CpuStorage> live = new IdentityHashMap<>();
    private long bytesInUse;
    private volatile boolean closed;
    private long seed;
    private long rngOffset;

    /**
     * A CPU backend with {@link BackendOptions#fromEnvironment()}: threads from -Dfishleg.cpu.threads
     * (default: the available processors), GEMM threading from -Dfishleg.cpu.gemmThreads.
     */
    public CpuBackend() { this(BackendOptions.fromEnvironment()); }

    /**
     * A CPU backend with {@code options.resolvedCpuThreads()} threads (a JVM-wide pool per thread count) and
     * {@code options.gemmThreading()}. OpenBLAS is one library per JVM: its thread count is set by the backend
     * opened last (1 in JAVA GEMM mode, the thread count in OPENBLAS mode).
     */
    public CpuBackend(BackendOptions options) {
        this.pool = CpuPool.shared(options.resolvedCpuThreads());
        this.splitGemm = options.gemmThreading() == BackendOptions.GemmThreading.JAVA;
        setOpenblasThreads(splitGemm ? 1 : pool.threads);
    }

    private static synchronized void setOpenblasThreads(int n) {
        if (n == openblasThreads) return;
        openblas_nolapack.blas_set_num_threads(n);
        openblasThreads = n;
    }

    private static String readCpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
                if (line.startsWith("model name")) {
                    int c = line.indexOf(':');
                    if (c >= 0) return line.substring(c + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux or not readable: no model name
        }
        return null;
    }

    @Override public String name() { return "cpu"; }

    @Override
    public String description() {
        return "CPU" + (CPU_MODEL != null && !CPU_MODEL.isEmpty() ? " " + CPU_MODEL : "") + ", "
                + pool.threads + " thread" + (pool.threads == 1 ? "" : "s") + ", " + OPENBLAS_VERSION
                + (splitGemm && pool.threads > 1 ? " (GEMM blocks on the Java threads)" : "");
    }

    // =================================================================================== checks

    private CpuStorage st(Tensor t, String op) {
        CpuStorage c = storage(op, t, this, closed, CpuStorage.class);
        if (c.isFreed()) throw new BackendException(op + ": tensor " + t.shape() + " used after its storage was freed");
        return c;
    }

    private static FloatBuffer buf(CpuStorage s) { return s.buffer; }

    private static int off(Tensor t) { return (int) t.offset(); }

    // =================================================================================== parallel helpers

    interface Range { void run(int lo, int hi); }

    /** Runs body over [0, n), split into cache-line aligned chunks over the pool when n is large. */
    private void forRange(int n, Range body) {
        if (n <= PARALLEL_THRESHOLD || pool.threads == 1) {
            if (n > 0) body.run(0, n);
            return;
        }
        int chunks = Math.min(pool.threads * 4, (n + MIN_CHUNK - 1) / MIN_CHUNK);
        long per = (((long) n + chunks - 1) / chunks + 15) & ~15L;
        int nc = (int) ((n + per - 1) / per);
        pool.run(nc, i -> {
            int lo = (int) (i * per);
            int hi = (int) Math.min(n, lo + per);
            body.run(lo, hi);
        });
    }

    /** Runs body over rows [0, rows) split into row chunks, parallel when rows*cols is large. */
    private void forRows(int rows, int cols, Range body) {
        long n = (long) rows * cols;
        if (n <= PARALLEL_THRESHOLD || pool.threads == 1 || rows < 2) {
            if (rows > 0) body.run(0, rows);
            return;
        }
        int chunks = (int) Math.min(Math.min(pool.threads * 4L, rows), (n + MIN_CHUNK - 1) / MIN_CHUNK);
        int per = (rows + chunks - 1) / chunks;
        int nc = (rows + per - 1) / per;
        pool.run(nc, i -> body.run(i * per, Math.min(rows, (i + 1) * per)));
    }

    interface Block { double run(int lo, int hi); }

    /** Sum over fixed blocks of the range [0, n) (block size {@code block}), in double, combined in order. */
    private double reduce(int n, int block, Block body) {
        return reduce(n, block, n, body);
    }

    /**
     * Sum over fixed blocks of [0, n) of size {@code block}, each summed in double by {@code body}, combined
     * in block order (so the result does not depend on the thread count); parallel when {@code work}
     * (elements touched) is large.
     */
    private double reduce(int n, int block, long work, Block body) {
        if (n <= 0) return 0.0;
        int nb = (int) (((long) n + block - 1) / block);
        if (nb == 1) return body.run(0, n);
        double[] part = new double[nb];
        if (work <= PARALLEL_THRESHOLD || pool.threads == 1) {
            for (int b = 0; b < nb; b++) part[b] = body.run(b * block, (int) Math.min(n, (long) (b + 1) * block));
        } else {
            pool.run(nb, b -> part[b] = body.run(b * block, (int) Math.min(n, (long) (b + 1) * block)));
        }
        double s = 0.0;
        for (double p : part) s += p;
        return s;
    }

    /** Rows per reduction block for row-wise reductions over rows of {@code cols} elements. */
    private static int rowBlock(int cols) { return Math.max(1, REDUCE_BLOCK / Math.max(1, cols)); }

    // =================================================================================== memory

    @Override
    public Tensor zeros(int rows, int cols) {
        if (closed) throw new BackendException("zeros: cpu backend is closed");
        if (rows < 0 || cols < 0) throw new BackendException("zeros: negative shape " + rows + "x" + cols);
        long n = (long) rows * cols;
        if (n > Integer.MAX_VALUE - 8) throw new BackendException("zeros: " + rows + "x" + cols + " is too large for the cpu backend");
        CpuStorage s = new CpuStorage(n);
        Tensor t = new Tensor(this, s, rows, cols);
        synchronized (live) {
            live.put(t, s);
            bytesInUse += n * Float.BYTES;
        }
        return t;
    }

    @Override
    public Tensor upload(float[] host, int rows, int cols) {
        if (host == null) throw new BackendException("upload: null host array");
        if ((long) rows * cols != host.length)
            throw new BackendException("upload: host array of " + host.length + " floats does not match " + rows + "x" + cols);
        Tensor t = zeros(rows, cols);
        buf(st(t, "upload")).put(0, host, 0, host.length);
        return t;
    }

    @Override
    public void download(Tensor src, float[] dst) {
        CpuStorage s = st(src, "download");
        if (dst == null) throw new BackendException("download: null host array");
        if (dst.length < src.size())
            throw new BackendException("download: host array of " + dst.length + " floats is smaller than " + src.shape());
        buf(s).get(off(src), dst, 0, src.size());
    }

    @Override
    public float readScalar(Tensor scalar) {
        CpuStorage s = st(scalar, "readScalar");
        if (scalar.size() < 1) throw new BackendException("readScalar: empty tensor " + scalar.shape());
        return buf(s).get(off(scalar));
    }

    @Override
    public void upload(float[] host, Tensor dst) {
        CpuStorage s = st(dst, "upload");
        if (host == null) throw new BackendException("upload: null host array");
        if (host.length != dst.size())
            throw new BackendException("upload: host array of " + host.length + " floats does not match " + dst.shape());
        buf(s).put(off(dst), host, 0, host.length);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        CpuStorage ss = st(src, "copy"), sd = st(dst, "copy");
        sameSize("copy", "src", src, "dst", dst);
        int n = src.size();
        if (n == 0 || (ss == sd && src.offset() == dst.offset())) return;
        FloatBuffer s = buf(ss), d = buf(sd);
        int so = off(src), dOff = off(dst);
        if (ss == sd && overlaps(src, dst)) {
            d.put(dOff, s, so, n); // memmove semantics
            return;
        }
        forRange(n, (lo, hi) -> d.put(dOff + lo, s, so + lo, hi - lo));
    }

    @Override
    public void fill(Tensor t, float value) {
        CpuStorage s = st(t, "fill");
        FloatBuffer b = buf(s);
        int o = off(t);
        forRange(t.size(), (lo, hi) -> fillRange(b, o + lo, o + hi, value));
    }

    private static void fillRange(FloatBuffer b, int from, int to, float v) {
        for (int i = from; i < to; i++) b.put(i, v);
    }

    @Override public void synchronize() { }

    @Override
    public void release(Tensor owner) {
        if (owner == null) return;
        CpuStorage s;
        synchronized (live) {
            s = live.remove(owner);
            if (s == null) return;
            bytesInUse -= s.capacity() * Float.BYTES;
        }
        s.free();
    }

    @Override
    public long bytesInUse() {
        synchronized (live) { return bytesInUse; }
    }

    @Override
    public void close() {
        List<Tensor> open;
        synchronized (live) {
            if (closed) return;
            open = new ArrayList<>(live.keySet());
        }
        for (Tensor t : open) t.close();
        synchronized (live) {
            closed = true;
            live.clear();
            bytesInUse = 0;
        }
    }

    // =================================================================================== BLAS

    @Override
    public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        CpuStorage sa = st(a, "gemm"), sb = st(b, "gemm"), sc = st(c, "gemm");
        int[] mnk = Checks.gemm(transA, transB, a, sa, b, sb, c, sc);
        int m = mnk[0], n = mnk[1], k = mnk[2];
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f) {
            // C = beta * C (beta == 0: C's old contents, even NaN, are ignored)
            axpbyRange(c, sc, beta);
            return;
        }
        int lda = Math.max(1, a.cols()), ldb = Math.max(1, b.cols()), ldc = Math.max(1, c.cols());
        int ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans;
        long flops = 2L * m * n * k;
        int dim = Math.max(m, n);
        if (!splitGemm || pool.threads == 1 || flops < SPLIT_MIN_FLOPS || dim < 32) {
            openblas_nolapack.cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, new FloatPointer(sa.pointer).position(a.offset()), lda,
                    new FloatPointer(sb.pointer).position(b.offset()), ldb, beta, new FloatPointer(sc.pointer).position(c.offset()), ldc);
            return;
        }
        // Split C into row blocks (m >= n) or column blocks, each a single-threaded OpenBLAS call on a pool
        // thread. OpenBLAS's own threads busy-wait for ~0.1 s after every call and then fight the Java loops
        // that follow each GEMM in a training step for the cores (measured 1.5-2x slower; under load from
        // another process OpenBLAS's threaded GEMM itself collapses). See docs/BENCHMARKS.md, "CPU GEMM".
        boolean alongM = m >= n;
        int parts = Math.min(pool.threads, dim / 16);
        int per = ((dim + parts - 1) / parts + 15) & ~15;
        int nc = (dim + per - 1) / per;
        long aBase = a.offset(), bBase = b.offset(), cBase = c.offset();
        pool.run(nc, i -> {
            int lo = i * per, hi = Math.min(dim, lo + per);
            long ao = aBase, bo = bBase, co;
            int mm = m, nn = n;
            if (alongM) {           // rows lo..hi of op(A) and of C
                ao += transA ? lo : (long) lo * lda;
                co = cBase + (long) lo * ldc;
                mm = hi - lo;
            } else {                // columns lo..hi of op(B) and of C
                bo += transB ? (long) lo * ldb : lo;
                co = cBase + lo;
                nn = hi - lo;
            }
            openblas_nolapack.cblas_sgemm(CblasRowMajor, ta, tb, mm, nn, k, alpha, new FloatPointer(sa.pointer).position(ao), lda,
                    new FloatPointer(sb.pointer).position(bo), ldb, beta, new FloatPointer(sc.pointer).position(co), ldc);
        });
    }

    /** Row-block size of {@link #gram}; smaller factors use one GEMM. */
    private static final int GRAM_BLOCK = 96;

    /**
     * p = l^T l by row blocks of p's upper triangle, P[r0:r1, r0:n] = L[K, r0:r1]^T L[K, r0:n], with K the
     * rows of l that can be non-zero there (all for FULL, [0, r1) for UPPER, [r0, n) for LOWER), each an
     * OpenBLAS call on a pool thread (one GEMM for small factors). The strict lower triangle is then
     * copied from the upper one, so p is exactly symmetric whatever OpenBLAS kernel computed it (a GEMM
     * need not give P[i][j] and P[j][i] the same rounding, e.g. the AVX2 kernels do not).
     */
    @Override
    public void gram(Tensor l, Triangle shape, Tensor p) {
        CpuStorage sl = st(l, "gram"), sp = st(p, "gram");
        Checks.gram(l, sl, shape, p, sp);
        int n = l.rows();
        if (n < 2 * GRAM_BLOCK) {
            gemm(true, false, 1f, l, l, 0f, p);
        } else {
            int blocks = (n + GRAM_BLOCK - 1) / GRAM_BLOCK;
            long lo0 = l.offset(), po0 = p.offset();
            pool.run(blocks, bi -> {
                int r0 = bi * GRAM_BLOCK, r1 = Math.min(n, r0 + GRAM_BLOCK);
                int k0 = shape == Triangle.LOWER ? r0 : 0;
                int k1 = shape == Triangle.UPPER ? r1 : n;
                long a = lo0 + (long) k0 * n + r0; // L[k0.., r0..]
                openblas_nolapack.cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1 - r0, n - r0, k1 - k0, 1f,
                        new FloatPointer(sl.pointer).position(a), n, new FloatPointer(sl.pointer).position(a), n, 0f,
                        new FloatPointer(sp.pointer).position(po0 + (long) r0 * n + r0), n);
            });
        }
        mirrorUpper(sp, p);
    }

    /** P[i][j] = P[j][i] for every j < i (the CPU twin of kernel fl_mirror_upper). */
    private void mirrorUpper(CpuStorage sp, Tensor p) {
        FloatBuffer pb = buf(sp);
        int po = off(p), n = p.rows();
        forRows(n, n, (i0, i1) -> {
            for (int i = i0; i < i1; i++)
                for (int j = 0; j < i; j++) pb.put(po + i * n + j, pb.get(po + j * n + i));
        });
    }

    /**
     * A new JavaCPP pointer to element (0, 0) of an open tensor of this backend, for calling native code
     * (BLAS) on the tensor's memory in place, e.g. the GEMM benchmark's direct cblas_sgemm baseline.
     * Valid while the tensor's owner is open; the caller may reposition it freely.
     */
    public FloatPointer nativePointer(Tensor t) {
        CpuStorage s = st(t, "nativePointer");
        return new FloatPointer(s.pointer).position(t.offset());
    }

    private void axpbyRange(Tensor c, CpuStorage sc, float beta) {
        FloatBuffer cb = buf(sc);
        int co = off(c);
        if (beta == 0f) forRange(c.size(), (lo, hi) -> fillRange(cb, co + lo, co + hi, 0f));
        else if (beta != 1f) forRange(c.size(), (lo, hi) -> scaleLoop(beta, cb, co, lo, hi));
    }

    // =================================================================================== elementwise

    @Override
    public void axpby(float alpha, Tensor x, float beta, Tensor y) {
        CpuStorage sx = st(x, "axpby"), sy = st(y, "axpby");
        sameSize("axpby", "x", x, "y", y);
        noPartialOverlap("axpby", "x", x, sx, "y", y, sy);
        FloatBuffer xb = buf(sx), yb = buf(sy);
        int xo = off(x), yo = off(y);
        if (beta == 0f) forRange(x.size(), (lo, hi) -> scaleCopyLoop(alpha, xb, xo, yb, yo, lo, hi));
        else if (alpha == 0f) { if (beta != 1f) forRange(y.size(), (lo, hi) -> scaleLoop(beta, yb, yo, lo, hi)); }
        else forRange(x.size(), (lo, hi) -> axpbyLoop(alpha, xb, xo, beta, yb, yo, lo, hi));
    }

    private static void scaleCopyLoop(float alpha, FloatBuffer x, int xo, FloatBuffer y, int yo, int lo, int hi) {
        for (int i = lo; i < hi; i++) y.put(yo + i, alpha * x.get(xo + i));
    }

    private static void scaleLoop(float beta, FloatBuffer y, int yo, int lo, int hi) {
        for (int i = lo; i < hi; i++) y.put(yo + i, beta * y.get(yo + i));
    }

    private static void axpbyLoop(float alpha, FloatBuffer x, int xo, float beta, FloatBuffer y, int yo, int lo, int hi) {
        for (int i = lo; i < hi; i++) y.put(yo + i, alpha * x.get(xo + i) + beta * y.get(yo + i));
    }

    @Override
    public void mul(Tensor x, Tensor y, Tensor out) {
        CpuStorage sx = st(x, "mul"), sy = st(y, "mul"), so = st(out, "mul");
        twoInOneOut("mul", "x", x, sx, "y", y, sy, "out", out, so);
        FloatBuffer xb = buf(sx), yb = buf(sy), ob = buf(so);
        int xo = off(x), yo = off(y), oo = off(out);
        forRange(x.size(), (lo, hi) -> mulLoop(xb, xo, yb, yo, ob, oo, lo, hi));
    }

    private static void mulLoop(FloatBuffer x, int xo, FloatBuffer y, int yo, FloatBuffer o, int oo, int lo, int hi) {
        for (int i = lo; i < hi; i++) o.put(oo + i, x.get(xo + i) * y.get(yo + i));
    }

    @Override
    public void clamp(Tensor x, float lo, float hi) {
        CpuStorage sx = st(x, "clamp");
        if (!(lo <= hi)) throw new BackendException("clamp: empty interval [" + lo + ", " + hi + "] for " + x.shape());
        FloatBuffer b = buf(sx);
        int o = off(x);
        forRange(x.size(), (a, z) -> clampLoop(b, o, lo, hi, a, z));
    }

    private static void clampLoop(FloatBuffer b, int o, float lo, float hi, int from, int to) {
        for (int i = from; i < to; i++) {
            float v = b.get(o + i);
            b.put(o + i, v < lo ? lo : (v > hi ? hi : v)); // NaN stays NaN
        }
    }

    @Override
    public void addRowVector(Tensor m, Tensor row) {
        CpuStorage sm = st(m, "addRowVector"), sr = st(row, "addRowVector");
        rowVector("addRowVector", m, sm, row, sr);
        FloatBuffer mb = buf(sm), rb = buf(sr);
        int mo = off(m), ro = off(row), cols = m.cols();
        forRows(m.rows(), cols, (r0, r1) -> {
            for (int r = r0; r < r1; r++) addRowLoop(mb, mo + r * cols, rb, ro, cols);
        });
    }

    private static void addRowLoop(FloatBuffer m, int mo, FloatBuffer r, int ro, int n) {
        for (int j = 0; j < n; j++) m.put(mo + j, m.get(mo + j) + r.get(ro + j));
    }

    @Override
    public void columnSums(float alpha, Tensor m, float beta, Tensor out) {
        CpuStorage sm = st(m, "columnSums"), so = st(out, "columnSums");
        columnSumsOut("columnSums", m, sm, out, so);
        FloatBuffer mb = buf(sm), ob = buf(so);
        int mo = off(m), oo = off(out), rows = m.rows(), cols = m.cols();
        Range body = (c0, c1) -> columnSumsLoop(alpha, mb, mo, rows, cols, beta, ob, oo, c0, c1);
        long n = (long) rows * cols;
        if (n <= PARALLEL_THRESHOLD || pool.threads == 1 || cols < 32) {
            body.run(0, cols);
        } else {
            int chunks = Math.min(pool.threads * 2, cols / 16);
            int per = ((cols + chunks - 1) / chunks + 15) & ~15;
            int nc = (cols + per - 1) / per;
            pool.run(nc, i -> body.run(i * per, Math.min(cols, (i + 1) * per)));
        }
    }

    private static void columnSumsLoop(float alpha, FloatBuffer m, int mo, int rows, int cols, float beta,
                                       FloatBuffer o, int oo, int c0, int c1) {
        int w = c1 - c0;
        if (w <= 0) return;
        double[] acc = new double[w];
        for (int r = 0; r < rows; r++) {
            int base = mo + r * cols + c0;
            for (int j = 0; j < w; j++) acc[j] += m.get(base + j);
        }
        for (int j = 0; j < w; j++) {
            double v = alpha * acc[j];
            if (beta != 0f) v += (double) beta * o.get(oo + c0 + j);
            o.put(oo + c0 + j, (float) v);
        }
    }

    @Override
    public void activation(Activation phi, Tensor a, Tensor h) {
        CpuStorage sa = st(a, "activation"), sh = st(h, "activation");
        if (phi == null) throw new BackendException("activation: null activation");
        sameShape("activation", "a", a, "h", h);
        noPartialOverlap("activation", "a", a, sa, "h", h, sh);
        FloatBuffer ab = buf(sa), hb = buf(sh);
        int ao = off(a), ho = off(h);
        switch (phi) {
            case IDENTITY:
                if (sa == sh && ao == ho) return;
                forRange(a.size(), (lo, hi) -> hb.put(ho + lo, ab, ao + lo, hi - lo));
                return;
            case RELU: forRange(a.size(), (lo, hi) -> reluLoop(ab, ao, hb, ho, lo, hi)); return;
            case SIGMOID: forRange(a.size(), (lo, hi) -> sigmoidLoop(ab, ao, hb, ho, lo, hi)); return;
            case TANH: forRange(a.size(), (lo, hi) -> tanhLoop(ab, ao, hb, ho, lo, hi)); return;
            case SOFTPLUS: forRange(a.size(), (lo, hi) -> softplusLoop(ab, ao, hb, ho, lo, hi)); return;
            default: throw new BackendException("activation: unsupported " + phi);
        }
    }

    private static void reluLoop(FloatBuffer a, int ao, FloatBuffer h, int ho, int lo, int hi) {
        for (int i = lo; i < hi; i++) {
            // a > 0 ? a : 0 (NaN -> 0 like Activation.apply), as a mask so C2 emits no branch
            float v = a.get(ao + i);
            int keep = v > 0f ? -1 : 0;
            h.put(ho + i, Float.intBitsToFloat(Float.floatToRawIntBits(v) & keep));
        }
    }

    private static void sigmoidLoop(FloatBuffer a, int ao, FloatBuffer h, int ho, int lo, int hi) {
        for (int i = lo; i < hi; i++) h.put(ho + i, (float) CpuMath.sigmoid(CpuMath.widen(a.get(ao + i))));
    }

    private static void tanhLoop(FloatBuffer a, int ao, FloatBuffer h, int ho, int lo, int hi) {
        for (int i = lo; i < hi; i++) h.put(ho + i, (float) CpuMath.tanh(CpuMath.widen(a.get(ao + i))));
    }

    private static void softplusLoop(FloatBuffer a, int ao, FloatBuffer h, int ho, int lo, int hi) {
        for (int i = lo; i < hi; i++) h.put(ho + i, (float) CpuMath.softplus(CpuMath.widen(a.get(ao + i))));
    }

    @Override
    public void activationDerivMul(Activation phi, Tensor a, Tensor g, Tensor out) {
        String op = "activationDerivMul";
        CpuStorage sa = st(a, op), sg = st(g, op), so = st(out, op);
        if (phi == null) throw new BackendException(op + ": null activation");
        twoInOneOut(op, "a", a, sa, "g", g, sg, "out", out, so);
        FloatBuffer ab = buf(sa), gb = buf(sg), ob = buf(so);
        int ao = off(a), go = off(g), oo = off(out);
        switch (phi) {
            case IDENTITY:
                if (sg == so && go == oo) return;
                forRange(a.size(), (lo, hi) -> ob.put(oo + lo, gb, go + lo, hi - lo));
                return;
            case RELU: forRange(a.size(), (lo, hi) -> reluDerivLoop(ab, ao, gb, go, ob, oo, lo, hi)); return;
            case SIGMOID:
            case SOFTPLUS:
            case TANH: {
                int which = phi.ordinal();
                forRange(a.size(), (lo, hi) -> smoothDerivLoop(which, ab, ao, gb, go, ob, oo, lo, hi));
                return;
            }
            default: throw new BackendException(op + ": unsupported " + phi);
        }
    }

    private static void reluDerivLoop(FloatBuffer a, int ao, FloatBuffer g, int go, FloatBuffer o, int oo, int lo, int hi) {
        for (int i = lo; i < hi; i++) {
            int keep = a.get(ao + i) > 0f ? -1 : 0; // mask, not a branch: a's sign is unpredictable
            o.put(oo + i, Float.intBitsToFloat(Float.floatToRawIntBits(g.get(go + i)) & keep));
        }
    }

    private static final int SIG = Activation.SIGMOID.ordinal(), TANH = Activation.TANH.ordinal();

    private static void smoothDerivLoop(int which, FloatBuffer a, int ao, FloatBuffer g, int go, FloatBuffer o, int oo, int lo, int hi) {
        if (which == TANH) {
            for (int i = lo; i < hi; i++) o.put(oo + i, (float) (CpuMath.tanhPrime(CpuMath.widen(a.get(ao + i))) * g.get(go + i)));
        } else if (which == SIG) {
            for (int i = lo; i < hi; i++) o.put(oo + i, (float) (CpuMath.sigmoidPrime(CpuMath.widen(a.get(ao + i))) * g.get(go + i)));
        } else { // softplus' = sigmoid
            for (int i = lo; i < hi; i++) o.put(oo + i, (float) (CpuMath.sigmoid(CpuMath.widen(a.get(ao + i))) * g.get(go + i)));
        }
    }

    @Override
    public void activationSecondDerivMul(Activation phi, Tensor a, Tensor g, Tensor out) {
        String op = "activationSecondDerivMul";
        CpuStorage sa = st(a, op), sg = st(g, op), so = st(out, op);
        if (phi == null) throw new BackendException(op + ": null activation");
        twoInOneOut(op, "a", a, sa, "g", g, sg, "out", out, so);
        FloatBuffer ab = buf(sa), gb = buf(sg), ob = buf(so);
        int ao = off(a), go = off(g), oo = off(out);
        switch (phi) {
            case IDENTITY:
            case RELU:
                forRange(a.size(), (lo, hi) -> fillRange(ob, oo + lo, oo + hi, 0f));
                return;
            case SIGMOID:
            case SOFTPLUS:
            case TANH: {
                int which = phi.ordinal();
                forRange(a.size(), (lo, hi) -> smoothSecondLoop(which, ab, ao, gb, go, ob, oo, lo, hi));
                return;
            }
            default: throw new BackendException(op + ": unsupported " + phi);
        }
    }

    private static void smoothSecondLoop(int which, FloatBuffer a, int ao, FloatBuffer g, int go, FloatBuffer o, int oo, int lo, int hi) {
        if (which == TANH) {
            for (int i = lo; i < hi; i++) o.put(oo + i, (float) (CpuMath.tanhSecond(CpuMath.widen(a.get(ao + i))) * g.get(go + i)));
        } else if (which == SIG) {
            for (int i = lo; i < hi; i++) o.put(oo + i, (float) (CpuMath.sigmoidSecond(CpuMath.widen(a.get(ao + i))) * g.get(go + i)));
        } else { // softplus'' = sigmoid'
            for (int i = lo; i < hi; i++) o.put(oo + i, (float) (CpuMath.sigmoidPrime(CpuMath.widen(a.get(ao + i))) * g.get(go + i)));
        }
    }

    @Override
    public void triangularMask(Tensor t, boolean upper) {
        CpuStorage s = st(t, "triangularMask");
        square("triangularMask", t);
        FloatBuffer b = buf(s);
        int o = off(t), n = t.cols();
        forRows(n, n, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int base = o + r * n;
                if (upper) fillRange(b, base, base + r, 0f);          // j < r
                else fillRange(b, base + r + 1, base + n, 0f);       // j > r
            }
        });
    }

    @Override
    public void setIdentity(Tensor t, float s) {
        CpuStorage st = st(t, "setIdentity");
        square("setIdentity", t);
        FloatBuffer b = buf(st);
        int o = off(t), n = t.cols();
        forRows(n, n, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int base = o + r * n;
                fillRange(b, base, base + n, 0f);
                b.put(base + r, s);
            }
        });
    }

    // =================================================================================== reductions

    @Override
    public void dot(Tensor x, Tensor y, Tensor out) {
        CpuStorage sx = st(x, "dot"), sy = st(y, "dot"), so = st(out, "dot");
        sameSize("dot", "x", x, "y", y);
        scalar("dot", "out", out);
        FloatBuffer xb = buf(sx), yb = buf(sy);
        int xo = off(x), yo = off(y);
        double s = reduce(x.size(), REDUCE_BLOCK, (lo, hi) -> dotLoop(xb, xo, yb, yo, lo, hi));
        buf(so).put(off(out), (float) s);
    }

    private static double dotLoop(FloatBuffer x, int xo, FloatBuffer y, int yo, int lo, int hi) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = lo;
        for (; i + 3 < hi; i += 4) {
            s0 += (double) x.get(xo + i) * y.get(yo + i);
            s1 += (double) x.get(xo + i + 1) * y.get(yo + i + 1);
            s2 += (double) x.get(xo + i + 2) * y.get(yo + i + 2);
            s3 += (double) x.get(xo + i + 3) * y.get(yo + i + 3);
        }
        for (; i < hi; i++) s0 += (double) x.get(xo + i) * y.get(yo + i);
        return (s0 + s1) + (s2 + s3);
    }

    @Override
    public void sumSquares(Tensor x, Tensor out) {
        CpuStorage sx = st(x, "sumSquares"), so = st(out, "sumSquares");
        scalar("sumSquares", "out", out);
        FloatBuffer xb = buf(sx);
        int xo = off(x);
        double s = reduce(x.size(), REDUCE_BLOCK, (lo, hi) -> dotLoop(xb, xo, xb, xo, lo, hi));
        buf(so).put(off(out), (float) s);
    }

    @Override
    public void countNonFinite(Tensor x, Tensor out) {
        CpuStorage sx = st(x, "countNonFinite"), so = st(out, "countNonFinite");
        scalar("countNonFinite", "out", out);
        FloatBuffer xb = buf(sx);
        int xo = off(x);
        double s = reduce(x.size(), REDUCE_BLOCK, (lo, hi) -> countLoop(xb, xo, lo, hi));
        buf(so).put(off(out), (float) s);
    }

    private static double countLoop(FloatBuffer x, int xo, int lo, int hi) {
        int c = 0;
        for (int i = lo; i < hi; i++) {
            float v = x.get(xo + i);
            if (v - v != 0f) c++; // NaN or +-Inf
        }
        return c;
    }

    @Override
    public void scaleByScalar(Tensor x, Tensor s, float power, float alpha, Tensor y) {
        String op = "scaleByScalar";
        CpuStorage sx = st(x, op), ss = st(s, op), sy = st(y, op);
        scalar(op, "s", s);
        sameSize(op, "x", x, "y", y);
        noPartialOverlap(op, "x", x, sx, "y", y, sy);
        if (sy == ss && overlaps(y, s) && y.size() > 1)
            throw new BackendException(op + ": y " + y + " overlaps the scalar s " + s);
        float sv = buf(ss).get(off(s));
        float sp = (float) Math.pow(sv, power);
        FloatBuffer yb = buf(sy);
        int yo = off(y);
        if (!Float.isFinite(sp)) {
            forRange(y.size(), (lo, hi) -> fillRange(yb, yo + lo, yo + hi, 0f));
            return;
        }
        float f = alpha * sp;
        FloatBuffer xb = buf(sx);
        int xo = off(x);
        forRange(x.size(), (lo, hi) -> scaleCopyLoop(f, xb, xo, yb, yo, lo, hi));
    }

    @Override
    public void scalarMulAdd(float alpha, Tensor a, Tensor b, float beta, Tensor out) {
        String op = "scalarMulAdd";
        CpuStorage sa = st(a, op), sb = st(b, op), so = st(out, op);
        scalars(op, new String[] {"a", "b", "out"}, a, b, out);
        double av = buf(sa).get(off(a)), bv = buf(sb).get(off(b));
        double v = av * bv * alpha;
        if (beta != 0f) v += (double) beta * buf(so).get(off(out));
        buf(so).put(off(out), (float) v);
    }

    // =================================================================================== likelihoods

    private double sigmaValue(String op, LikelihoodKind kind, Tensor sigma) {
        if (kind != LikelihoodKind.GAUSSIAN) return Double.NaN;
        if (sigma == null) throw new BackendException(op + ": GAUSSIAN needs a 1x1 sigma tensor, got null");
        CpuStorage s = st(sigma, op);
        scalar(op, "sigma", sigma);
        return buf(s).get(off(sigma));
    }

    @Override
    public void nll(LikelihoodKind kind, Tensor f, Tensor y, Tensor sigma, Tensor out) {
        String op = "nll";
        if (kind == null) throw new BackendException(op + ": null likelihood kind");
        CpuStorage sf = st(f, op), sy = st(y, op), so = st(out, op);
        sameShape(op, "f", f, "y", y);
        scalar(op, "out", out);
        double sig = sigmaValue(op, kind, sigma);
        FloatBuffer fb = buf(sf), yb = buf(sy);
        int fo = off(f), yo = off(y), rows = f.rows(), cols = f.cols();
        double total;
        switch (kind) {
            case BERNOULLI:
                total = reduce(f.size(), REDUCE_BLOCK, (lo, hi) -> bernoulliNllLoop(fb, fo, yb, yo, lo, hi));
                break;
            case GAUSSIAN: {
                double inv2s2 = 1.0 / (2.0 * sig * sig);
                double cst = Math.log(sig) + 0.5 * Math.log(2.0 * Math.PI);
                total = reduce(f.size(), REDUCE_BLOCK, (lo, hi) -> gaussianSqLoop(fb, fo, yb, yo, lo, hi)) * inv2s2
                        + cst * f.size();
                break;
            }
            case SOFTMAX:
                total = reduce(rows, rowBlock(cols), (long) rows * cols, (r0, r1) -> softmaxNllRows(fb, fo, yb, yo, cols, r0, r1));
                break;
            default: throw new BackendException(op + ": unsupported " + kind);
        }
        buf(so).put(off(out), rows == 0 ? 0f : (float) (total / rows));
    }

    private static double bernoulliNllLoop(FloatBuffer f, int fo, FloatBuffer y, int yo, int lo, int hi) {
        double s = 0;
        for (int i = lo; i < hi; i++) {
            double fv = CpuMath.widen(f.get(fo + i));
            s += CpuMath.softplus(fv) - y.get(yo + i) * fv;
        }
        return s;
    }

    private static double gaussianSqLoop(FloatBuffer f, int fo, FloatBuffer y, int yo, int lo, int hi) {
        double s0 = 0, s1 = 0;
        int i = lo;
        for (; i + 1 < hi; i += 2) {
            double d0 = (double) y.get(yo + i) - f.get(fo + i);
            double d1 = (double) y.get(yo + i + 1) - f.get(fo + i + 1);
            s0 += d0 * d0;
            s1 += d1 * d1;
        }
        for (; i < hi; i++) {
            double d = (double) y.get(yo + i) - f.get(fo + i);
            s0 += d * d;
        }
        return s0 + s1;
    }

    private static double softmaxNllRows(FloatBuffer f, int fo, FloatBuffer y, int yo, int cols, int r0, int r1) {
        double s = 0;
        for (int r = r0; r < r1; r++) {
            int fb = fo + r * cols, yb = yo + r * cols;
            float mx = rowMax(f, fb, cols);
            double se = 0, yf = 0;
            for (int j = 0; j < cols; j++) {
                float fv = f.get(fb + j);
                se += CpuMath.exp(CpuMath.widen(fv) - mx);
                yf += (double) y.get(yb + j) * fv;
            }
            s += mx + Math.log(se) - yf;
        }
        return s;
    }

    private static float rowMax(FloatBuffer f, int base, int cols) {
        float mx = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < cols; j++) mx = Math.max(mx, f.get(base + j));
        return mx;
    }

    @Override
    public void nllGrad(LikelihoodKind kind, Tensor f, Tensor y, Tensor sigma, float scale, Tensor grad) {
        String op = "nllGrad";
        if (kind == null) throw new BackendException(op + ": null likelihood kind");
        CpuStorage sf = st(f, op), sy = st(y, op), sg = st(grad, op);
        twoInOneOut(op, "f", f, sf, "y", y, sy, "grad", grad, sg);
        double sig = sigmaValue(op, kind, sigma);
        FloatBuffer fb = buf(sf), yb = buf(sy), gb = buf(sg);
        int fo = off(f), yo = off(y), go = off(grad), cols = f.cols();
        switch (kind) {
            case BERNOULLI:
                forRange(f.size(), (lo, hi) -> bernoulliGradLoop(scale, fb, fo, yb, yo, gb, go, lo, hi));
                return;
            case GAUSSIAN: {
                double c = scale / (sig * sig);
                forRange(f.size(), (lo, hi) -> gaussianGradLoop(c, fb, fo, yb, yo, gb, go, lo, hi));
                return;
            }
            case SOFTMAX:
                forRows(f.rows(), cols, (r0, r1) -> softmaxGradRows(scale, fb, fo, yb, yo, gb, go, cols, r0, r1));
                return;
            default: throw new BackendException(op + ": unsupported " + kind);
        }
    }

    private static void bernoulliGradLoop(float scale, FloatBuffer f, int fo, FloatBuffer y, int yo, FloatBuffer g, int go, int lo, int hi) {
        for (int i = lo; i < hi; i++)
            g.put(go + i, (float) (scale * (CpuMath.sigmoid(CpuMath.widen(f.get(fo + i))) - y.get(yo + i))));
    }

    private static void gaussianGradLoop(double c, FloatBuffer f, int fo, FloatBuffer y, int yo, FloatBuffer g, int go, int lo, int hi) {
        for (int i = lo; i < hi; i++)
            g.put(go + i, (float) (c * ((double) f.get(fo + i) - y.get(yo + i))));
    }

    private static void softmaxGradRows(float scale, FloatBuffer f, int fo, FloatBuffer y, int yo, FloatBuffer g, int go,
                                        int cols, int r0, int r1) {
        for (int r = r0; r < r1; r++) {
            int fb = fo + r * cols, yb = yo + r * cols, gb = go + r * cols;
            float mx = rowMax(f, fb, cols);
            double se = 0;
            for (int j = 0; j < cols; j++) se += CpuMath.exp(CpuMath.widen(f.get(fb + j)) - mx);
            double inv = 1.0 / se;
            for (int j = 0; j < cols; j++) {
                double p = CpuMath.exp(CpuMath.widen(f.get(fb + j)) - mx) * inv;
                g.put(gb + j, (float) (scale * (p - y.get(yb + j))));
            }
        }
    }

    @Override
    public void gaussianSigmaGrad(Tensor f, Tensor y, Tensor sigma, float scale, Tensor out) {
        String op = "gaussianSigmaGrad";
        CpuStorage sf = st(f, op), sy = st(y, op), so = st(out, op);
        sameShape(op, "f", f, "y", y);
        scalar(op, "out", out);
        double sig = sigmaValue(op, LikelihoodKind.GAUSSIAN, sigma);
        FloatBuffer fb = buf(sf), yb = buf(sy);
        int fo = off(f), yo = off(y);
        double sq = reduce(f.size(), REDUCE_BLOCK, (lo, hi) -> gaussianSqLoop(fb, fo, yb, yo, lo, hi));
        double v = scale * (f.size() / sig - sq / (sig * sig * sig));
        buf(so).put(off(out), (float) v);
    }

    @Override
    public void outputHessianVec(LikelihoodKind kind, Tensor f, Tensor sigma, Tensor v, float scale, Tensor out) {
        String op = "outputHessianVec";
        if (kind == null) throw new BackendException(op + ": null likelihood kind");
        CpuStorage sf = st(f, op), sv = st(v, op), so = st(out, op);
        twoInOneOut(op, "f", f, sf, "v", v, sv, "out", out, so);
        double sig = sigmaValue(op, kind, sigma);
        FloatBuffer fb = buf(sf), vb = buf(sv), ob = buf(so);
        int fo = off(f), vo = off(v), oo = off(out), cols = f.cols();
        switch (kind) {
            case BERNOULLI:
                forRange(f.size(), (lo, hi) -> bernoulliHvLoop(scale, fb, fo, vb, vo, ob, oo, lo, hi));
                return;
            case GAUSSIAN: {
                float c = (float) (scale / (sig * sig));
                forRange(f.size(), (lo, hi) -> scaleCopyLoop(c, vb, vo, ob, oo, lo, hi));
                return;
            }
            case SOFTMAX:
                forRows(f.rows(), cols, (r0, r1) -> softmaxHvRows(scale, fb, fo, vb, vo, ob, oo, cols, r0, r1));
                return;
            default: throw new BackendException(op + ": unsupported " + kind);
        }
    }

    private static void bernoulliHvLoop(float scale, FloatBuffer f, int fo, FloatBuffer v, int vo, FloatBuffer o, int oo, int lo, int hi) {
        for (int i = lo; i < hi; i++)
            o.put(oo + i, (float) (scale * CpuMath.sigmoidPrime(CpuMath.widen(f.get(fo + i))) * v.get(vo + i)));
    }

    private static void softmaxHvRows(float scale, FloatBuffer f, int fo, FloatBuffer v, int vo, FloatBuffer o, int oo,
                                      int cols, int r0, int r1) {
        for (int r = r0; r < r1; r++) {
            int fb = fo + r * cols, vb = vo + r * cols, ob = oo + r * cols;
            float mx = rowMax(f, fb, cols);
            double se = 0, pv = 0;
            for (int j = 0; j < cols; j++) {
                double e = CpuMath.exp(CpuMath.widen(f.get(fb + j)) - mx);
                se += e;
                pv += e * v.get(vb + j);
            }
            double inv = 1.0 / se;
            pv *= inv;
            for (int j = 0; j < cols; j++) {
                double p = CpuMath.exp(CpuMath.widen(f.get(fb + j)) - mx) * inv;
                o.put(ob + j, (float) (scale * p * (v.get(vb + j) - pv)));
            }
        }
    }

    @Override
    public void sampleTargets(LikelihoodKind kind, Tensor f, Tensor sigma, Tensor noise, Tensor y) {
        String op = "sampleTargets";
        if (kind == null) throw new BackendException(op + ": null likelihood kind");
        CpuStorage sf = st(f, op), sn = st(noise, op), sy = st(y, op);
        twoInOneOut(op, "f", f, sf, "noise", noise, sn, "y", y, sy);
        double sig = sigmaValue(op, kind, sigma);
        FloatBuffer fb = buf(sf), nb = buf(sn), yb = buf(sy);
        int fo = off(f), no = off(noise), yo = off(y), cols = f.cols();
        switch (kind) {
            case BERNOULLI:
                forRange(f.size(), (lo, hi) -> bernoulliSampleLoop(fb, fo, nb, no, yb, yo, lo, hi));
                return;
            case GAUSSIAN: {
                float s = (float) sig;
                forRange(f.size(), (lo, hi) -> gaussianSampleLoop(s, fb, fo, nb, no, yb, yo, lo, hi));
                return;
            }
            case SOFTMAX:
                forRows(f.rows(), cols, (r0, r1) -> softmaxSampleRows(fb, fo, nb, no, yb, yo, cols, r0, r1));
                return;
            default: throw new BackendException(op + ": unsupported " + kind);
        }
    }

    private static void bernoulliSampleLoop(FloatBuffer f, int fo, FloatBuffer n, int no, FloatBuffer y, int yo, int lo, int hi) {
        for (int i = lo; i < hi; i++)
            y.put(yo + i, n.get(no + i) < (float) CpuMath.sigmoid(CpuMath.widen(f.get(fo + i))) ? 1f : 0f);
    }

    private static void gaussianSampleLoop(float s, FloatBuffer f, int fo, FloatBuffer n, int no, FloatBuffer y, int yo, int lo, int hi) {
        for (int i = lo; i < hi; i++) y.put(yo + i, f.get(fo + i) + s * n.get(no + i));
    }

    private static void softmaxSampleRows(FloatBuffer f, int fo, FloatBuffer n, int no, FloatBuffer y, int yo,
                                          int cols, int r0, int r1) {
        for (int r = r0; r < r1; r++) {
            int fb = fo + r * cols, yb = yo + r * cols;
            float mx = rowMax(f, fb, cols);
            double se = 0;
            for (int j = 0; j < cols; j++) se += CpuMath.exp(CpuMath.widen(f.get(fb + j)) - mx);
            double target = (double) n.get(no + r * cols) * se;
            int k = cols - 1;
            double c = 0;
            for (int j = 0; j < cols; j++) {
                c += CpuMath.exp(CpuMath.widen(f.get(fb + j)) - mx);
                if (c > target) { k = j; break; }
            }
            for (int j = 0; j < cols; j++) y.put(yb + j, j == k ? 1f : 0f);
        }
    }

    // =================================================================================== fused optimizer updates

    @Override
    public void momentumStep(Tensor p, Tensor g, Tensor m, float lr, float mu, float dampening, float wd, boolean nesterov) {
        String op = "momentumStep";
        CpuStorage sp = st(p, op), sg = st(g, op), sm = st(m, op);
        fusedUpdate(op, new String[] {"p", "g", "m"}, new Tensor[] {p, g, m}, new Tensor.Storage[] {sp, sg, sm});
        FloatBuffer pb = buf(sp), gb = buf(sg), mb = buf(sm);
        int po = off(p), go = off(g), mo = off(m);
        float damp = 1f - dampening;
        forRange(p.size(), (lo, hi) -> momentumLoop(pb, po, gb, go, mb, mo, lr, mu, damp, wd, nesterov, lo, hi));
    }

    private static void momentumLoop(FloatBuffer p, int po, FloatBuffer g, int go, FloatBuffer m, int mo,
                                     float lr, float mu, float damp, float wd, boolean nesterov, int lo, int hi) {
        for (int i = lo; i < hi; i++) {
            float pv = p.get(po + i);
            float gv = g.get(go + i) + wd * pv;
            float mv = mu * m.get(mo + i) + damp * gv;
            m.put(mo + i, mv);
            p.put(po + i, pv - lr * (nesterov ? gv + mu * mv : mv));
        }
    }

    @Override
    public void adamStep(Tensor p, Tensor g, Tensor m, Tensor v, float lr, float b1, float b2, float eps,
                         float l2, float decoupledWd, float bc1, float bc2) {
        String op = "adamStep";
        CpuStorage sp = st(p, op), sg = st(g, op), sm = st(m, op), sv = st(v, op);
        fusedUpdate(op, new String[] {"p", "g", "m", "v"}, new Tensor[] {p, g, m, v}, new Tensor.Storage[] {sp, sg, sm, sv});
        if (!(bc1 > 0f) || !(bc2 > 0f))
            throw new BackendException(op + ": bias corrections must be > 0 (step t >= 1), got bc1 = " + bc1 + ", bc2 = " + bc2);
        FloatBuffer pb = buf(sp), gb = buf(sg), mb = buf(sm), vb = buf(sv);
        int po = off(p), go = off(g), mo = off(m), vo = off(v);
        float ib1 = 1f / bc1, ib2 = 1f / bc2;
        forRange(p.size(), (lo, hi) -> adamLoop(pb, po, gb, go, mb, mo, vb, vo, lr, b1, b2, eps, l2, decoupledWd, ib1, ib2, lo, hi));
    }

    @Override
    public void adamStepAt(Tensor p, Tensor g, Tensor m, Tensor v, float lr, float b1, float b2, float eps,
                           float l2, float decoupledWd, Tensor step) {
        String op = "adamStepAt";
        CpuStorage ss = st(step, op);
        Checks.stepScalar(op, step, ss, new Tensor[] {p, g, m, v},
                new Tensor.Storage[] {st(p, op), st(g, op), st(m, op), st(v, op)}, new String[] {"p", "g", "m", "v"});
        double t = buf(ss).get(off(step));
        if (!(t >= 1) || t != Math.rint(t))
            throw new BackendException(op + ": the step count must be a whole number >= 1, got " + t);
        adamStep(p, g, m, v, lr, b1, b2, eps, l2, decoupledWd, (float) (1 - Math.pow(b1, t)), (float) (1 - Math.pow(b2, t)));
    }

    private static void adamLoop(FloatBuffer p, int po, FloatBuffer g, int go, FloatBuffer m, int mo, FloatBuffer v, int vo,
                                 float lr, float b1, float b2, float eps, float l2, float wd, float ib1, float ib2, int lo, int hi) {
        float c1 = 1f - b1, c2 = 1f - b2;
        for (int i = lo; i < hi; i++) {
            float pv = p.get(po + i);
            float gv = g.get(go + i) + l2 * pv;
            float mv = b1 * m.get(mo + i) + c1 * gv;
            float vv = b2 * v.get(vo + i) + c2 * gv * gv;
            m.put(mo + i, mv);
            v.put(vo + i, vv);
            float step = (mv * ib1) / ((float) Math.sqrt(vv * ib2) + eps) + wd * pv;
            p.put(po + i, pv - lr * step);
        }
    }

    // =================================================================================== random numbers

    @Override public void setSeed(long seed) { this.seed = seed; this.rngOffset = 0; }

    @Override public long seed() { return seed; }

    @Override public long rngOffset() { return rngOffset; }

    @Override
    public void setRngState(long seed, long offset) {
        if (offset < 0) throw new BackendException("setRngState: negative offset " + offset);
        this.seed = seed;
        this.rngOffset = offset;
    }

    @Override
    public void randUniform(Tensor t) {
        CpuStorage s = st(t, "randUniform");
        int n = t.size();
        long counters = ((long) n + 3) / 4;
        FloatBuffer b = buf(s);
        int o = off(t);
        long sd = seed, base = rngOffset;
        int chunks = (int) ((counters + RNG_CHUNK_COUNTERS - 1) / RNG_CHUNK_COUNTERS);
        CpuPool.Task task = c -> uniformChunk(b, o, n, sd, base, (long) c * RNG_CHUNK_COUNTERS,
                Math.min(counters, (long) (c + 1) * RNG_CHUNK_COUNTERS));
        if (n <= PARALLEL_THRESHOLD) for (int c = 0; c < chunks; c++) task.run(c);
        else pool.run(chunks, task);
        rngOffset = base + counters;
    }

    private static void uniformChunk(FloatBuffer b, int o, int n, long seed, long base, long k0, long k1) {
        int[] w = new int[4];
        for (long k = k0; k < k1; k++) {
            Philox.block(seed, base + k, w);
            int i = (int) (4 * k);
            int lim = Math.min(4, n - i);
            for (int q = 0; q < lim; q++) b.put(o + i + q, Philox.uniform(w[q]));
        }
    }

    @Override
    public void randNormal(Tensor t, float mean, float std) {
        CpuStorage s = st(t, "randNormal");
        int n = t.size();
        long counters = ((long) n + 1) / 2;
        FloatBuffer b = buf(s);
        int o = off(t);
        long sd = seed, base = rngOffset;
        int chunks = (int) ((counters + RNG_CHUNK_COUNTERS - 1) / RNG_CHUNK_COUNTERS);
        CpuPool.Task task = c -> normalChunk(b, o, n, sd, base, (long) c * RNG_CHUNK_COUNTERS,
                Math.min(counters, (long) (c + 1) * RNG_CHUNK_COUNTERS), mean, std);
        if (n <= PARALLEL_THRESHOLD) for (int c = 0; c < chunks; c++) task.run(c);
        else pool.run(chunks, task);
        rngOffset = base + counters;
    }

    private static void normalChunk(FloatBuffer b, int o, int n, long seed, long base, long k0, long k1, float mean, float std) {
        int[] w = new int[4];
        for (long k = k0; k < k1; k++) {
            Philox.block(seed, base + k, w);
            int i = (int) (2 * k);
            b.put(o + i, mean + std * Philox.normal(w[0], w[1]));
            if (i + 1 < n) b.put(o + i + 1, mean + std * Philox.normal(w[2], w[3]));
        }
    }
}
