package org.fishleg.backend;

import static org.fishleg.backend.Checks.columnSumsOut;
import static org.fishleg.backend.Checks.fusedUpdate;
import static org.fishleg.backend.Checks.gatherIndices;
import static org.fishleg.backend.Checks.noPartialOverlap;
import static org.fishleg.backend.Checks.rowVector;
import static org.fishleg.backend.Checks.sameShape;
import static org.fishleg.backend.Checks.sameSize;
import static org.fishleg.backend.Checks.scalar;
import static org.fishleg.backend.Checks.scalars;
import static org.fishleg.backend.Checks.square;
import static org.fishleg.backend.Checks.twoInOneOut;

/**
 * The checked front of every backend: implements {@link Backend}'s operations by checking their
 * arguments once (tensors of this backend and open, shapes, aliasing, scalars, enum arguments; the
 * messages name the operation and the shapes, {@code Checks}) and then calling a narrow
 * {@code do...} method of the backend with the checked tensors and their storage of type {@code S}.
 * A backend implements those methods, plus the life-cycle, synchronisation, random-state and graph
 * methods of {@link Backend} that have nothing to check; it checks nothing twice.
 *
 * <p>Checks run in the same order on every backend: storage of each tensor (in argument order), then
 * shapes and overlaps, then value arguments. A narrow method may assume every tensor it gets is of this
 * backend, open, of the documented shape and not aliased in a way the operation forbids.
 *
 * @param <S> the backend's storage type
 */
public abstract class AbstractBackend<S extends Tensor.Storage> implements Backend {

    /** For subclasses. */
    protected AbstractBackend() {}

    // =================================================================================== what a backend provides

    /**
     * The storage of {@code t} for operation {@code op}: throws a {@link BackendException} naming {@code op}
     * for a null tensor, a tensor of another backend, a closed backend, or closed or freed storage
     * (normally through {@link #checkedStorage(String, Tensor, Class)}).
     */
    protected abstract S storage(String op, Tensor t);

    /** True once {@link #close()} ran: operations then throw. */
    protected abstract boolean isClosed();

    /**
     * {@code Checks.storage}: the storage of {@code t}, of {@code type}, for an op of this backend; rejects
     * null tensors, tensors of another backend, a closed backend and closed storage.
     */
    protected final S checkedStorage(String op, Tensor t, Class<S> type) {
        return Checks.storage(op, t, this, isClosed(), type);
    }

    /** True when the element ranges of a and b (in the same storage) intersect. */
    protected static boolean overlaps(Tensor a, Tensor b) { return Checks.overlaps(a, b); }

    // =================================================================================== memory

    /** Throws unless the backend is open and rows x cols is a shape this backend can allocate. */
    private void allocatable(String op, int rows, int cols) {
        if (isClosed()) throw new BackendException(op + ": " + name() + " backend is closed");
        if (rows < 0 || cols < 0) throw new BackendException(op + ": negative shape " + rows + "x" + cols);
        long n = (long) rows * cols;
        if (n > Integer.MAX_VALUE - 8)
            throw new BackendException(op + ": " + rows + "x" + cols + " is too large for the " + name() + " backend");
    }

    @Override
    public final Tensor zeros(int rows, int cols) {
        allocatable("zeros", rows, cols);
        return doZeros(rows, cols);
    }

    /** A new zero-filled tensor of a checked shape. */
    protected abstract Tensor doZeros(int rows, int cols);

    @Override
    public final Tensor upload(float[] host, int rows, int cols) {
        if (host == null) throw new BackendException("upload: null host array");
        if ((long) rows * cols != host.length)
            throw new BackendException("upload: host array of " + host.length + " floats does not match " + rows + "x" + cols);
        allocatable("upload", rows, cols);
        return doUpload(host, rows, cols);
    }

    /** A new tensor holding {@code host} (its length is rows * cols, the shape checked). */
    protected abstract Tensor doUpload(float[] host, int rows, int cols);

    @Override
    public final void upload(float[] host, Tensor dst) {
        S s = storage("upload", dst);
        if (host == null) throw new BackendException("upload: null host array");
        if (host.length != dst.size())
            throw new BackendException("upload: host array of " + host.length + " floats does not match " + dst.shape());
        doUpload(host, dst, s);
    }

    /** dst = host ({@code host.length == dst.size()}). */
    protected abstract void doUpload(float[] host, Tensor dst, S sDst);

    @Override
    public final void download(Tensor src, float[] dst) {
        S s = storage("download", src);
        if (dst == null) throw new BackendException("download: null host array");
        if (dst.length < src.size())
            throw new BackendException("download: host array of " + dst.length + " floats is smaller than " + src.shape());
        doDownload(src, s, dst);
    }

    /** dst[0 .. src.size) = src, after queued work ({@code dst.length >= src.size()}). */
    protected abstract void doDownload(Tensor src, S sSrc, float[] dst);

    @Override
    public final float readScalar(Tensor scalar) {
        S s = storage("readScalar", scalar);
        if (scalar.size() < 1) throw new BackendException("readScalar: empty tensor " + scalar.shape());
        return doReadScalar(scalar, s);
    }

    /** Element 0 of a non-empty tensor, after queued work. */
    protected abstract float doReadScalar(Tensor scalar, S s);

    @Override
    public final void copy(Tensor src, Tensor dst) {
        S ss = storage("copy", src), sd = storage("copy", dst);
        sameSize("copy", "src", src, "dst", dst);
        if (src.size() == 0 || (ss == sd && src.offset() == dst.offset())) return;
        doCopy(src, ss, dst, sd);
    }

    /** dst = src: same size, not empty, not the same range (ranges may overlap: memmove semantics). */
    protected abstract void doCopy(Tensor src, S sSrc, Tensor dst, S sDst);

    @Override
    public final void gatherRows(Tensor src, int[] rows, int start, Tensor dst) {
        S ss = storage("gatherRows", src), sd = storage("gatherRows", dst);
        gatherIndices("gatherRows", src, rows, start, dst);
        doGatherRows(src, ss, rows, start, dst, sd);
    }

    /**
     * {@link Backend#gatherRows} with checked indices and columns. This default copies one row at a time
     * (through {@link #copy}); a backend may override it with one kernel.
     */
    protected void doGatherRows(Tensor src, S sSrc, int[] rows, int start, Tensor dst, S sDst) {
        for (int j = 0; j < dst.rows(); j++) copy(src.row(rows[start + j]), dst.row(j));
    }

    @Override
    public final void copyIntoColumns(Tensor src, Tensor dst, int col0) {
        S ss = storage("copyIntoColumns", src), sd = storage("copyIntoColumns", dst);
        if (src.rows() != dst.rows() || col0 < 0 || col0 + src.cols() > dst.cols())
            throw new BackendException("copyIntoColumns: src " + src.shape() + " does not fit dst " + dst.shape() + " at column " + col0);
        doCopyIntoColumns(src, ss, dst, sd, col0);
    }

    /**
     * {@link Backend#copyIntoColumns} with src checked to fit. This default copies one row at a time
     * (through {@link #copy}); a backend may override it with one kernel.
     */
    protected void doCopyIntoColumns(Tensor src, S sSrc, Tensor dst, S sDst, int col0) {
        for (int i = 0; i < src.rows(); i++) copy(src.row(i), dst.row(i).view(col0, 1, src.cols()));
    }

    @Override
    public final void fill(Tensor t, float value) {
        doFill(t, storage("fill", t), value);
    }

    /** Every element of t = value. */
    protected abstract void doFill(Tensor t, S s, float value);

    // =================================================================================== BLAS

    @Override
    public final void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        S sa = storage("gemm", a), sb = storage("gemm", b), sc = storage("gemm", c);
        int[] mnk = Checks.gemm(transA, transB, a, sa, b, sb, c, sc);
        if (mnk[0] == 0 || mnk[1] == 0) return;
        doGemm(transA, transB, mnk[0], mnk[1], mnk[2], alpha, a, sa, b, sb, beta, c, sc);
    }

    /**
     * C (m x n, both &gt; 0) = alpha op(A) op(B) + beta C, inner dimension k (may be 0), C not aliasing A or B;
     * beta == 0 ignores C's contents.
     */
    protected abstract void doGemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, S sa,
                                   Tensor b, S sb, float beta, Tensor c, S sc);

    @Override
    public final void gram(Tensor l, Triangle shape, Tensor p) {
        S sl = storage("gram", l), sp = storage("gram", p);
        Checks.gram(l, sl, shape, p, sp);
        doGram(l, sl, shape, p, sp);
    }

    /** p = l^T l, exactly symmetric: l square, p of its shape and not overlapping it, shape not null. */
    protected abstract void doGram(Tensor l, S sl, Triangle shape, Tensor p, S sp);

    // =================================================================================== elementwise

    @Override
    public final void axpby(float alpha, Tensor x, float beta, Tensor y) {
        S sx = storage("axpby", x), sy = storage("axpby", y);
        sameSize("axpby", "x", x, "y", y);
        noPartialOverlap("axpby", "x", x, sx, "y", y, sy);
        doAxpby(alpha, x, sx, beta, y, sy);
    }

    /** y = alpha x + beta y (same size, y is x or disjoint from it). */
    protected abstract void doAxpby(float alpha, Tensor x, S sx, float beta, Tensor y, S sy);

    @Override
    public final void mul(Tensor x, Tensor y, Tensor out) {
        S sx = storage("mul", x), sy = storage("mul", y), so = storage("mul", out);
        twoInOneOut("mul", "x", x, sx, "y", y, sy, "out", out, so);
        doMul(x, sx, y, sy, out, so);
    }

    /** out = x o y (one shape; out is an input or disjoint from it). */
    protected abstract void doMul(Tensor x, S sx, Tensor y, S sy, Tensor out, S so);

    @Override
    public final void clamp(Tensor x, float lo, float hi) {
        S sx = storage("clamp", x);
        if (!(lo <= hi)) throw new BackendException("clamp: empty interval [" + lo + ", " + hi + "] for " + x.shape());
        doClamp(x, sx, lo, hi);
    }

    /** Every element clamped to [lo, hi] (lo &lt;= hi, NaN stays NaN). */
    protected abstract void doClamp(Tensor x, S sx, float lo, float hi);

    @Override
    public final void addRowVector(Tensor m, Tensor row) {
        S sm = storage("addRowVector", m), sr = storage("addRowVector", row);
        rowVector("addRowVector", m, sm, row, sr);
        doAddRowVector(m, sm, row, sr);
    }

    /** m[i, :] += row (row 1 x m.cols, not overlapping m). */
    protected abstract void doAddRowVector(Tensor m, S sm, Tensor row, S sr);

    @Override
    public final void columnSums(float alpha, Tensor m, float beta, Tensor out) {
        S sm = storage("columnSums", m), so = storage("columnSums", out);
        columnSumsOut("columnSums", m, sm, out, so);
        doColumnSums(alpha, m, sm, beta, out, so);
    }

    /** out = alpha colsum(m) + beta out (out 1 x m.cols, not overlapping m unless m is that one row). */
    protected abstract void doColumnSums(float alpha, Tensor m, S sm, float beta, Tensor out, S so);

    @Override
    public final void activation(Activation phi, Tensor a, Tensor h) {
        S sa = storage("activation", a), sh = storage("activation", h);
        if (phi == null) throw new BackendException("activation: null activation");
        sameShape("activation", "a", a, "h", h);
        noPartialOverlap("activation", "a", a, sa, "h", h, sh);
        doActivation(phi, a, sa, h, sh);
    }

    /** h = phi(a) (phi not null, one shape, h is a or disjoint from it). */
    protected abstract void doActivation(Activation phi, Tensor a, S sa, Tensor h, S sh);

    @Override
    public final void activationDerivMul(Activation phi, Tensor a, Tensor g, Tensor out) {
        String op = "activationDerivMul";
        S sa = storage(op, a), sg = storage(op, g), so = storage(op, out);
        if (phi == null) throw new BackendException(op + ": null activation");
        twoInOneOut(op, "a", a, sa, "g", g, sg, "out", out, so);
        doActivationDerivMul(phi, a, sa, g, sg, out, so);
    }

    /** out = phi'(a) o g (checked like {@link #doMul}). */
    protected abstract void doActivationDerivMul(Activation phi, Tensor a, S sa, Tensor g, S sg, Tensor out, S so);

    @Override
    public final void activationSecondDerivMul(Activation phi, Tensor a, Tensor g, Tensor out) {
        String op = "activationSecondDerivMul";
        S sa = storage(op, a), sg = storage(op, g), so = storage(op, out);
        if (phi == null) throw new BackendException(op + ": null activation");
        twoInOneOut(op, "a", a, sa, "g", g, sg, "out", out, so);
        doActivationSecondDerivMul(phi, a, sa, g, sg, out, so);
    }

    /** out = phi''(a) o g (checked like {@link #doMul}). */
    protected abstract void doActivationSecondDerivMul(Activation phi, Tensor a, S sa, Tensor g, S sg, Tensor out, S so);

    @Override
    public final void triangularMask(Tensor t, boolean upper) {
        S s = storage("triangularMask", t);
        square("triangularMask", t);
        doTriangularMask(t, s, upper);
    }

    /** Zeroes the strict lower (upper = true) or strict upper triangle of a square t. */
    protected abstract void doTriangularMask(Tensor t, S s, boolean upper);

    @Override
    public final void setIdentity(Tensor t, float s) {
        S st = storage("setIdentity", t);
        square("setIdentity", t);
        doSetIdentity(t, st, s);
    }

    /** t = s I for a square t. */
    protected abstract void doSetIdentity(Tensor t, S st, float s);

    // =================================================================================== reductions

    @Override
    public final void dot(Tensor x, Tensor y, Tensor out) {
        S sx = storage("dot", x), sy = storage("dot", y), so = storage("dot", out);
        sameSize("dot", "x", x, "y", y);
        scalar("dot", "out", out);
        doDot(x, sx, y, sy, out, so);
    }

    /** out(1x1) = x . y (same size). */
    protected abstract void doDot(Tensor x, S sx, Tensor y, S sy, Tensor out, S so);

    @Override
    public final void sumSquares(Tensor x, Tensor out) {
        S sx = storage("sumSquares", x), so = storage("sumSquares", out);
        scalar("sumSquares", "out", out);
        doSumSquares(x, sx, out, so);
    }

    /** out(1x1) = sum x_i^2. */
    protected abstract void doSumSquares(Tensor x, S sx, Tensor out, S so);

    @Override
    public final void countNonFinite(Tensor x, Tensor out) {
        S sx = storage("countNonFinite", x), so = storage("countNonFinite", out);
        scalar("countNonFinite", "out", out);
        doCountNonFinite(x, sx, out, so);
    }

    /** out(1x1) = number of NaN or infinite elements of x. */
    protected abstract void doCountNonFinite(Tensor x, S sx, Tensor out, S so);

    @Override
    public final void scaleByScalar(Tensor x, Tensor s, float power, float alpha, Tensor y) {
        String op = "scaleByScalar";
        S sx = storage(op, x), ss = storage(op, s), sy = storage(op, y);
        scalar(op, "s", s);
        sameSize(op, "x", x, "y", y);
        noPartialOverlap(op, "x", x, sx, "y", y, sy);
        if (sy == ss && overlaps(y, s) && y.size() > 1)
            throw new BackendException(op + ": y " + y + " overlaps the scalar s " + s);
        doScaleByScalar(x, sx, s, ss, power, alpha, y, sy);
    }

    /** y = alpha s^power x, or 0 where s^power is not finite (s 1x1; y is x or disjoint, and not overlapping s unless 1x1). */
    protected abstract void doScaleByScalar(Tensor x, S sx, Tensor s, S ss, float power, float alpha, Tensor y, S sy);

    @Override
    public final void scalarMulAdd(float alpha, Tensor a, Tensor b, float beta, Tensor out) {
        String op = "scalarMulAdd";
        S sa = storage(op, a), sb = storage(op, b), so = storage(op, out);
        scalars(op, new String[] {"a", "b", "out"}, a, b, out);
        doScalarMulAdd(alpha, a, sa, b, sb, beta, out, so);
    }

    /** out = a b alpha + beta out (all 1x1). */
    protected abstract void doScalarMulAdd(float alpha, Tensor a, S sa, Tensor b, S sb, float beta, Tensor out, S so);

    // =================================================================================== likelihoods

    /** For GAUSSIAN: the checked storage of the 1x1 sigma; for the other kinds null (sigma is ignored). */
    private S sigmaStorage(String op, LikelihoodKind kind, Tensor sigma) {
        if (kind != LikelihoodKind.GAUSSIAN) return null;
        if (sigma == null) throw new BackendException(op + ": GAUSSIAN needs a 1x1 sigma tensor, got null");
        S s = storage(op, sigma);
        scalar(op, "sigma", sigma);
        return s;
    }

    private static void kind(String op, LikelihoodKind kind) {
        if (kind == null) throw new BackendException(op + ": null likelihood kind");
    }

    @Override
    public final void nll(LikelihoodKind kind, Tensor f, Tensor y, Tensor sigma, Tensor out) {
        String op = "nll";
        kind(op, kind);
        S sf = storage(op, f), sy = storage(op, y), so = storage(op, out);
        sameShape(op, "f", f, "y", y);
        scalar(op, "out", out);
        S ss = sigmaStorage(op, kind, sigma);
        doNll(kind, f, sf, y, sy, sigma, ss, out, so);
    }

    /**
     * out(1x1) = mean row NLL. {@code sigma}/{@code sSigma} are the checked 1x1 sigma for GAUSSIAN and
     * must not be used otherwise (they may be null then); the same holds for every likelihood method.
     */
    protected abstract void doNll(LikelihoodKind kind, Tensor f, S sf, Tensor y, S sy, Tensor sigma, S sSigma, Tensor out, S so);

    @Override
    public final void nllGrad(LikelihoodKind kind, Tensor f, Tensor y, Tensor sigma, float scale, Tensor grad) {
        String op = "nllGrad";
        kind(op, kind);
        S sf = storage(op, f), sy = storage(op, y), sg = storage(op, grad);
        twoInOneOut(op, "f", f, sf, "y", y, sy, "grad", grad, sg);
        S ss = sigmaStorage(op, kind, sigma);
        doNllGrad(kind, f, sf, y, sy, sigma, ss, scale, grad, sg);
    }

    /** grad = scale dNLL/df (one shape; grad is an input or disjoint). */
    protected abstract void doNllGrad(LikelihoodKind kind, Tensor f, S sf, Tensor y, S sy, Tensor sigma, S sSigma, float scale,
                                      Tensor grad, S sg);

    @Override
    public final void gaussianSigmaGrad(Tensor f, Tensor y, Tensor sigma, float scale, Tensor out) {
        String op = "gaussianSigmaGrad";
        S sf = storage(op, f), sy = storage(op, y), so = storage(op, out);
        sameShape(op, "f", f, "y", y);
        scalar(op, "out", out);
        S ss = sigmaStorage(op, LikelihoodKind.GAUSSIAN, sigma);
        doGaussianSigmaGrad(f, sf, y, sy, sigma, ss, scale, out, so);
    }

    /** out(1x1) = scale sum (1/sigma - (y-f)^2/sigma^3). */
    protected abstract void doGaussianSigmaGrad(Tensor f, S sf, Tensor y, S sy, Tensor sigma, S sSigma, float scale, Tensor out, S so);

    @Override
    public final void outputHessianVec(LikelihoodKind kind, Tensor f, Tensor sigma, Tensor v, float scale, Tensor out) {
        String op = "outputHessianVec";
        kind(op, kind);
        S sf = storage(op, f), sv = storage(op, v), so = storage(op, out);
        twoInOneOut(op, "f", f, sf, "v", v, sv, "out", out, so);
        S ss = sigmaStorage(op, kind, sigma);
        doOutputHessianVec(kind, f, sf, sigma, ss, v, sv, scale, out, so);
    }

    /** out = scale H(f) v row-wise (one shape; out is an input or disjoint). */
    protected abstract void doOutputHessianVec(LikelihoodKind kind, Tensor f, S sf, Tensor sigma, S sSigma, Tensor v, S sv,
                                               float scale, Tensor out, S so);

    @Override
    public final void sampleTargets(LikelihoodKind kind, Tensor f, Tensor sigma, Tensor noise, Tensor y) {
        String op = "sampleTargets";
        kind(op, kind);
        S sf = storage(op, f), sn = storage(op, noise), sy = storage(op, y);
        twoInOneOut(op, "f", f, sf, "noise", noise, sn, "y", y, sy);
        S ss = sigmaStorage(op, kind, sigma);
        doSampleTargets(kind, f, sf, sigma, ss, noise, sn, y, sy);
    }

    /** y ~ p(y | f) from the given noise (one shape; y is an input or disjoint). */
    protected abstract void doSampleTargets(LikelihoodKind kind, Tensor f, S sf, Tensor sigma, S sSigma, Tensor noise, S sn,
                                            Tensor y, S sy);

    // =================================================================================== fused optimizer updates

    @Override
    public final void momentumStep(Tensor p, Tensor g, Tensor m, float lr, float mu, float dampening, float wd, boolean nesterov) {
        String op = "momentumStep";
        S sp = storage(op, p), sg = storage(op, g), sm = storage(op, m);
        fusedUpdate(op, new String[] {"p", "g", "m"}, new Tensor[] {p, g, m}, new Tensor.Storage[] {sp, sg, sm});
        doMomentumStep(p, sp, g, sg, m, sm, lr, mu, dampening, wd, nesterov);
    }

    /** The fused momentum update (p, g, m of one shape, pairwise disjoint). */
    protected abstract void doMomentumStep(Tensor p, S sp, Tensor g, S sg, Tensor m, S sm, float lr, float mu, float dampening,
                                           float wd, boolean nesterov);

    @Override
    public final void adamStep(Tensor p, Tensor g, Tensor m, Tensor v, float lr, float b1, float b2, float eps,
                               float l2, float decoupledWd, float bc1, float bc2) {
        String op = "adamStep";
        S sp = storage(op, p), sg = storage(op, g), sm = storage(op, m), sv = storage(op, v);
        fusedUpdate(op, new String[] {"p", "g", "m", "v"}, new Tensor[] {p, g, m, v}, new Tensor.Storage[] {sp, sg, sm, sv});
        if (!(bc1 > 0f) || !(bc2 > 0f))
            throw new BackendException(op + ": bias corrections must be > 0 (step t >= 1), got bc1 = " + bc1 + ", bc2 = " + bc2);
        doAdamStep(p, sp, g, sg, m, sm, v, sv, lr, b1, b2, eps, l2, decoupledWd, bc1, bc2);
    }

    /** The fused Adam update (p, g, m, v of one shape, pairwise disjoint; bc1, bc2 &gt; 0). */
    protected abstract void doAdamStep(Tensor p, S sp, Tensor g, S sg, Tensor m, S sm, Tensor v, S sv, float lr, float b1,
                                       float b2, float eps, float l2, float decoupledWd, float bc1, float bc2);

    @Override
    public final void adamStepAt(Tensor p, Tensor g, Tensor m, Tensor v, float lr, float b1, float b2, float eps,
                                 float l2, float decoupledWd, Tensor step) {
        String op = "adamStepAt";
        S sp = storage(op, p), sg = storage(op, g), sm = storage(op, m), sv = storage(op, v), ss = storage(op, step);
        String[] names = {"p", "g", "m", "v"};
        Tensor[] ts = {p, g, m, v};
        Tensor.Storage[] sts = {sp, sg, sm, sv};
        fusedUpdate(op, names, ts, sts);
        Checks.stepScalar(op, step, ss, ts, sts, names);
        doAdamStepAt(p, sp, g, sg, m, sm, v, sv, lr, b1, b2, eps, l2, decoupledWd, step, ss);
    }

    /**
     * {@link #doAdamStep} with the step count read from the 1x1 {@code step} (outside p, g, m, v); whether it
     * holds a whole number &gt;= 1 is for the backend to check where it can read it.
     */
    protected abstract void doAdamStepAt(Tensor p, S sp, Tensor g, S sg, Tensor m, S sm, Tensor v, S sv, float lr, float b1,
                                         float b2, float eps, float l2, float decoupledWd, Tensor step, S sStep);

    // =================================================================================== random numbers

    @Override
    public final void setRngState(long seed, long offset) {
        if (offset < 0) throw new BackendException("setRngState: negative offset " + offset);
        doSetRngState(seed, offset);
    }

    /** Restores a stream position (offset &gt;= 0). */
    protected abstract void doSetRngState(long seed, long offset);

    @Override
    public final void randUniform(Tensor t) {
        doRandUniform(t, storage("randUniform", t));
    }

    /** Uniform fill, see {@link Backend#randUniform}. */
    protected abstract void doRandUniform(Tensor t, S s);

    @Override
    public final void randNormal(Tensor t, float mean, float std) {
        doRandNormal(t, storage("randNormal", t), mean, std);
    }

    /** Normal fill, see {@link Backend#randNormal}. */
    protected abstract void doRandNormal(Tensor t, S s, float mean, float std);
}
