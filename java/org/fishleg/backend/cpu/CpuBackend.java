package org.fishleg.backend.cpu;

import static org.fishleg.backend.cpu.CpuStorage.buf;
import static org.fishleg.backend.cpu.CpuStorage.off;

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
import org.fishleg.backend.AbstractBackend;
import org.fishleg.backend.Activation;
import org.fishleg.backend.BackendException;
import org.fishleg.backend.BackendOptions;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.backend.Tensor;

/**
 * The CPU backend: tensors in off-heap native memory (calloc'd, seen from Java as a direct native-order
 * FloatBuffer), GEMM through OpenBLAS ({@code cblas_sgemm} on that memory in place, no copies),
 * everything else as Java loops written for C2 (no per-element virtual calls, no allocation, branch-free
 * masks, transcendental functions in double from the backend's own math).
 *
 * <p>Arguments are checked once by {@link AbstractBackend}; the operations live in package-private files
 * by family, named after the CUDA kernel files they mirror: CpuElementwise (cuda/elementwise.cuh),
 * CpuReduce (reduce.cuh), CpuLikelihood (likelihood.cuh), CpuOptim (optim.cuh), CpuRandom (random.cuh),
 * CpuGemm (cuBLAS), with CpuParallel (common.cuh's conventions) splitting loops over the threads.
 * This class holds memory, the random stream state and the delegation.
 *
 * <h2>Threads</h2>
 * One pool of {@link BackendOptions#resolvedCpuThreads()} threads (the caller plus daemon workers; default
 * the available processors, {@code -Dfishleg.cpu.threads=N}) runs everything:
 * <ul>
 *   <li>loops over more than 32768 elements are split into cache-line aligned chunks;</li>
 *   <li>reductions accumulate in double over fixed blocks of 8192 elements combined in block order, so
 *       they are deterministic and independent of the thread count;</li>
 *   <li>GEMMs above 2^21 flops are split into row or column blocks of C, each computed by a
 *       single-threaded OpenBLAS call on a pool thread. OpenBLAS's own threads would busy-wait for ~0.1 s
 *       after every call and slow the Java loops that follow each GEMM in a training step by 2-4x
 *       (see docs/BENCHMARKS.md); {@link BackendOptions.GemmThreading#OPENBLAS}
 *       ({@code -Dfishleg.cpu.gemmThreads=openblas}) restores OpenBLAS threading.</li>
 * </ul>
 *
 * <p>All operations are synchronous; {@link #synchronize()} is a no-op. An instance is meant to be used
 * from one thread at a time (like a CUDA stream). Shape errors throw {@link BackendException} naming the
 * operation and the shapes; tensors of another backend, closed tensors and a closed backend are rejected.
 */
public final class CpuBackend extends AbstractBackend<CpuStorage> {

    /**
     * System property choosing how GEMM uses the cores: "java" (default) splits C into blocks computed by
     * single-threaded OpenBLAS calls on the backend's own worker threads; "openblas" lets OpenBLAS run its
     * own threads. See {@link BackendOptions#gemmThreading()}.
     */
    public static final String GEMM_THREADS_PROPERTY = BackendOptions.GEMM_THREADS_PROPERTY;

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
    private final CpuParallel par;
    private final CpuElementwise elementwise;
    private final CpuReduce reduce;
    private final CpuLikelihood likelihood;
    private final CpuOptim optim;
    private final CpuRandom random;
    private final CpuGemm blas;
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
        this.par = new CpuParallel(pool);
        this.elementwise = new CpuElementwise(par);
        this.reduce = new CpuReduce(par, elementwise);
        this.likelihood = new CpuLikelihood(par, elementwise);
        this.optim = new CpuOptim(par);
        this.random = new CpuRandom(par);
        this.blas = new CpuGemm(par, elementwise, splitGemm);
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

    @Override
    protected CpuStorage storage(String op, Tensor t) {
        CpuStorage c = checkedStorage(op, t, CpuStorage.class);
        if (c.isFreed()) throw new BackendException(op + ": tensor " + t.shape() + " used after its storage was freed");
        return c;
    }

    @Override
    protected boolean isClosed() { return closed; }

    // =================================================================================== memory

    @Override
    protected Tensor doZeros(int rows, int cols) {
        long n = (long) rows * cols;
        CpuStorage s = new CpuStorage(n);
        Tensor t = new Tensor(this, s, rows, cols);
        synchronized (live) {
            live.put(t, s);
            bytesInUse += n * Float.BYTES;
        }
        return t;
    }

    @Override
    protected Tensor doUpload(float[] host, int rows, int cols) {
        Tensor t = doZeros(rows, cols);
        buf(storage("upload", t)).put(0, host, 0, host.length);
        return t;
    }

    @Override
    protected void doUpload(float[] host, Tensor dst, CpuStorage s) {
        buf(s).put(off(dst), host, 0, host.length);
    }

    @Override
    protected void doDownload(Tensor src, CpuStorage s, float[] dst) {
        buf(s).get(off(src), dst, 0, src.size());
    }

    @Override
    protected float doReadScalar(Tensor scalar, CpuStorage s) {
        return buf(s).get(off(scalar));
    }

    @Override
    protected void doCopy(Tensor src, CpuStorage ss, Tensor dst, CpuStorage sd) {
        int n = src.size();
        FloatBuffer s = buf(ss), d = buf(sd);
        int so = off(src), dOff = off(dst);
        if (ss == sd && overlaps(src, dst)) {
            d.put(dOff, s, so, n); // memmove semantics
            return;
        }
        par.forRange(n, (lo, hi) -> d.put(dOff + lo, s, so + lo, hi - lo));
    }

    @Override
    protected void doFill(Tensor t, CpuStorage s, float value) { elementwise.fill(t, s, value); }

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

    /**
     * A new JavaCPP pointer to element (0, 0) of an open tensor of this backend, for calling native code
     * (BLAS) on the tensor's memory in place, e.g. the GEMM benchmark's direct cblas_sgemm baseline.
     * Valid while the tensor's owner is open; the caller may reposition it freely.
     */
    public FloatPointer nativePointer(Tensor t) {
        CpuStorage s = storage("nativePointer", t);
        return new FloatPointer(s.pointer).position(t.offset());
    }

    // =================================================================================== BLAS (CpuGemm)

    /**
     * Splits C into row blocks (m &gt;= n) or column blocks over the pool, each a single-threaded OpenBLAS
     * call, unless GEMM threading is OPENBLAS or the product is small; see the class comment.
     */
    @Override
    protected void doGemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, CpuStorage sa,
                          Tensor b, CpuStorage sb, float beta, Tensor c, CpuStorage sc) {
        blas.gemm(transA, transB, m, n, k, alpha, a, sa, b, sb, beta, c, sc);
    }

    /**
     * Blocked products of p's upper triangle that skip l's zero blocks (1/2 of a GEMM's work, 1/6 for a
     * triangular l), then the upper triangle mirrored onto the lower one.
     */
    @Override
    protected void doGram(Tensor l, CpuStorage sl, Triangle shape, Tensor p, CpuStorage sp) {
        blas.gram(l, sl, shape, p, sp);
    }

    // =================================================================================== elementwise (CpuElementwise)

    @Override
    protected void doAxpby(float alpha, Tensor x, CpuStorage sx, float beta, Tensor y, CpuStorage sy) {
        elementwise.axpby(alpha, x, sx, beta, y, sy);
    }

    @Override
    protected void doMul(Tensor x, CpuStorage sx, Tensor y, CpuStorage sy, Tensor out, CpuStorage so) {
        elementwise.mul(x, sx, y, sy, out, so);
    }

    @Override
    protected void doClamp(Tensor x, CpuStorage sx, float lo, float hi) { elementwise.clamp(x, sx, lo, hi); }

    @Override
    protected void doAddRowVector(Tensor m, CpuStorage sm, Tensor row, CpuStorage sr) { elementwise.addRowVector(m, sm, row, sr); }

    @Override
    protected void doColumnSums(float alpha, Tensor m, CpuStorage sm, float beta, Tensor out, CpuStorage so) {
        elementwise.columnSums(alpha, m, sm, beta, out, so);
    }

    @Override
    protected void doActivation(Activation phi, Tensor a, CpuStorage sa, Tensor h, CpuStorage sh) {
        elementwise.activation(phi, a, sa, h, sh);
    }

    @Override
    protected void doActivationDerivMul(Activation phi, Tensor a, CpuStorage sa, Tensor g, CpuStorage sg, Tensor out, CpuStorage so) {
        elementwise.activationDerivMul(phi, a, sa, g, sg, out, so);
    }

    @Override
    protected void doActivationSecondDerivMul(Activation phi, Tensor a, CpuStorage sa, Tensor g, CpuStorage sg, Tensor out,
                                              CpuStorage so) {
        elementwise.activationSecondDerivMul(phi, a, sa, g, sg, out, so);
    }

    @Override
    protected void doTriangularMask(Tensor t, CpuStorage s, boolean upper) { elementwise.triangularMask(t, s, upper); }

    @Override
    protected void doSetIdentity(Tensor t, CpuStorage st, float s) { elementwise.setIdentity(t, st, s); }

    // =================================================================================== reductions (CpuReduce)

    @Override
    protected void doDot(Tensor x, CpuStorage sx, Tensor y, CpuStorage sy, Tensor out, CpuStorage so) {
        reduce.dot(x, sx, y, sy, out, so);
    }

    @Override
    protected void doSumSquares(Tensor x, CpuStorage sx, Tensor out, CpuStorage so) { reduce.sumSquares(x, sx, out, so); }

    @Override
    protected void doCountNonFinite(Tensor x, CpuStorage sx, Tensor out, CpuStorage so) { reduce.countNonFinite(x, sx, out, so); }

    @Override
    protected void doScaleByScalar(Tensor x, CpuStorage sx, Tensor s, CpuStorage ss, float power, float alpha, Tensor y, CpuStorage sy) {
        reduce.scaleByScalar(x, sx, s, ss, power, alpha, y, sy);
    }

    @Override
    protected void doScalarMulAdd(float alpha, Tensor a, CpuStorage sa, Tensor b, CpuStorage sb, float beta, Tensor out, CpuStorage so) {
        reduce.scalarMulAdd(alpha, a, sa, b, sb, beta, out, so);
    }

    // =================================================================================== likelihoods (CpuLikelihood)

    @Override
    protected void doNll(LikelihoodKind kind, Tensor f, CpuStorage sf, Tensor y, CpuStorage sy, Tensor sigma, CpuStorage ss,
                         Tensor out, CpuStorage so) {
        likelihood.nll(kind, f, sf, y, sy, sigma, ss, out, so);
    }

    @Override
    protected void doNllGrad(LikelihoodKind kind, Tensor f, CpuStorage sf, Tensor y, CpuStorage sy, Tensor sigma, CpuStorage ss,
                             float scale, Tensor grad, CpuStorage sg) {
        likelihood.nllGrad(kind, f, sf, y, sy, sigma, ss, scale, grad, sg);
    }

    @Override
    protected void doGaussianSigmaGrad(Tensor f, CpuStorage sf, Tensor y, CpuStorage sy, Tensor sigma, CpuStorage ss, float scale,
                                       Tensor out, CpuStorage so) {
        likelihood.gaussianSigmaGrad(f, sf, y, sy, sigma, ss, scale, out, so);
    }

    @Override
    protected void doOutputHessianVec(LikelihoodKind kind, Tensor f, CpuStorage sf, Tensor sigma, CpuStorage ss, Tensor v,
                                      CpuStorage sv, float scale, Tensor out, CpuStorage so) {
        likelihood.outputHessianVec(kind, f, sf, sigma, ss, v, sv, scale, out, so);
    }

    @Override
    protected void doSampleTargets(LikelihoodKind kind, Tensor f, CpuStorage sf, Tensor sigma, CpuStorage ss, Tensor noise,
                                   CpuStorage sn, Tensor y, CpuStorage sy) {
        likelihood.sampleTargets(kind, f, sf, sigma, ss, noise, sn, y, sy);
    }

    // =================================================================================== fused optimizer updates (CpuOptim)

    @Override
    protected void doMomentumStep(Tensor p, CpuStorage sp, Tensor g, CpuStorage sg, Tensor m, CpuStorage sm, float lr, float mu,
                                  float dampening, float wd, boolean nesterov) {
        optim.momentumStep(p, sp, g, sg, m, sm, lr, mu, dampening, wd, nesterov);
    }

    @Override
    protected void doAdamStep(Tensor p, CpuStorage sp, Tensor g, CpuStorage sg, Tensor m, CpuStorage sm, Tensor v, CpuStorage sv,
                              float lr, float b1, float b2, float eps, float l2, float decoupledWd, float bc1, float bc2) {
        optim.adamStep(p, sp, g, sg, m, sm, v, sv, lr, b1, b2, eps, l2, decoupledWd, bc1, bc2);
    }

    /** Reads the step count (a whole number &gt;= 1) and runs {@link #adamStep} with its bias corrections. */
    @Override
    protected void doAdamStepAt(Tensor p, CpuStorage sp, Tensor g, CpuStorage sg, Tensor m, CpuStorage sm, Tensor v, CpuStorage sv,
                                float lr, float b1, float b2, float eps, float l2, float decoupledWd, Tensor step, CpuStorage ss) {
        double t = buf(ss).get(off(step));
        if (!(t >= 1) || t != Math.rint(t))
            throw new BackendException("adamStepAt: the step count must be a whole number >= 1, got " + t);
        adamStep(p, g, m, v, lr, b1, b2, eps, l2, decoupledWd, (float) (1 - Math.pow(b1, t)), (float) (1 - Math.pow(b2, t)));
    }

    // =================================================================================== random numbers (CpuRandom)

    @Override public void setSeed(long seed) { this.seed = seed; this.rngOffset = 0; }

    @Override public long seed() { return seed; }

    @Override public long rngOffset() { return rngOffset; }

    @Override
    protected void doSetRngState(long seed, long offset) {
        this.seed = seed;
        this.rngOffset = offset;
    }

    @Override
    protected void doRandUniform(Tensor t, CpuStorage s) {
        rngOffset += random.uniform(t, s, seed, rngOffset);
    }

    @Override
    protected void doRandNormal(Tensor t, CpuStorage s, float mean, float std) {
        rngOffset += random.normal(t, s, seed, rngOffset, mean, std);
    }
}
