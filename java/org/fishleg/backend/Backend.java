package org.fishleg.backend;

/**
 * The one set of tensor operations that every model, curvature product and optimizer is written
 * against. Two implementations: {@code CpuBackend} (OpenBLAS GEMM, Java loops on all cores) and
 * {@code CudaBackend} (cuBLAS, cuRAND/Philox, the project's kernels in cuda/). Both extend
 * {@link AbstractBackend}, which checks every operation's arguments once before the backend runs it;
 * {@link Backends#open(String, BackendOptions, java.util.function.Consumer)} opens one from {@link BackendOptions}.
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li>All tensors are float32, contiguous, row-major ({@link Tensor}); shapes are checked and a
 *       mismatch throws {@link BackendException} naming the operation and both shapes.</li>
 *   <li>Operations may be asynchronous (CUDA: queued on the backend's stream). Only
 *       {@link #download}, {@link #readScalar} and {@link #synchronize} wait. No operation other than
 *       those two copies data to the host, so a training step written against this interface needs
 *       no host round trip.</li>
 *   <li>Reductions write a 1x1 tensor ("device scalar") that later operations can consume
 *       ({@link #scaleByScalar}, likelihood sigma) without leaving the backend.</li>
 *   <li>Unless stated otherwise an output may alias an input of the same shape (elementwise ops are
 *       safe in place); GEMM output must not alias its inputs.</li>
 *   <li>Random numbers come from a counter-based Philox4x32-10 stream identified by (seed, offset),
 *       identical on every backend ({@link Philox}: key = (low, high 32 bits of seed), counter =
 *       (low, high 32 bits of the 64-bit counter, 0, 0)); {@link #rngOffset()} is plain state that can
 *       be saved and restored. On CUDA the offset lives in device memory so graph replays advance it.</li>
 * </ul>
 */
public interface Backend extends AutoCloseable {

    /** Short name, "cpu" or "cuda". */
    String name();

    /** One line describing the device (CPU model and threads, or GPU name and memory). */
    String description();

    // ------------------------------------------------------------------ memory

    /** A new zero-filled rows x cols tensor owned by the caller. */
    Tensor zeros(int rows, int cols);

    /** A new tensor holding a copy of {@code host} (row-major, length rows*cols). */
    Tensor upload(float[] host, int rows, int cols);

    /** Copies the tensor's elements (row-major) into {@code dst[0 .. size)}; waits for queued work. */
    void download(Tensor src, float[] dst);

    /** Convenience: a new host array with the tensor's elements. */
    default float[] download(Tensor src) {
        float[] a = new float[src.size()];
        download(src, a);
        return a;
    }

    /** Reads element 0 of {@code scalar} (normally a 1x1 tensor) to the host; waits for queued work. */
    float readScalar(Tensor scalar);

    /** Overwrites {@code dst} (any shape) with {@code host}. */
    void upload(float[] host, Tensor dst);

    /** dst = src (same size; shapes may differ if sizes match). */
    void copy(Tensor src, Tensor dst);

    /**
     * dst.row(j) = src.row(rows[start + j]) for j in [0, dst.rows): gathers a mini-batch from a data set
     * resident in backend memory (src and dst have the same number of columns). Backends may override
     * this default (one device-to-device copy per row) with a single kernel.
     */
    default void gatherRows(Tensor src, int[] rows, int start, Tensor dst) {
        Checks.gatherIndices("gatherRows", src, rows, start, dst);
        for (int j = 0; j < dst.rows(); j++) copy(src.row(rows[start + j]), dst.row(j));
    }

    /**
     * dst[:, col0 .. col0 + src.cols) = src (same number of rows): writes a column block of a wider
     * matrix, e.g. h into [1, h]. Backends may override this default (one copy per row) with one kernel.
     */
    default void copyIntoColumns(Tensor src, Tensor dst, int col0) {
        if (src.rows() != dst.rows() || col0 < 0 || col0 + src.cols() > dst.cols())
            throw new BackendException("copyIntoColumns: src " + src.shape() + " does not fit dst " + dst.shape() + " at column " + col0);
        for (int i = 0; i < src.rows(); i++) copy(src.row(i), dst.row(i).view(col0, 1, src.cols()));
    }

    /** Every element of t = value. */
    void fill(Tensor t, float value);

    /** Waits until all queued work is done. */
    void synchronize();

    /** Called by {@link Tensor#close()} on the owning tensor; do not call directly. */
    void release(Tensor owner);

    /** Bytes of backend memory held by live (not yet closed) tensors; blocks a backend caches for reuse are not counted. */
    long bytesInUse();

    // ------------------------------------------------------------------ BLAS

    /**
     * C = alpha * op(A) * op(B) + beta * C with op(X) = X or X^T, all row-major. When beta == 0, C's
     * previous contents (even NaN) are ignored.
     */
    void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c);

    /** Which triangle of a square factor may be non-zero, for products that can skip the zeros. */
    enum Triangle {
        /** Every element may be non-zero. */
        FULL,
        /** Only the upper triangle (j &gt;= i) may be non-zero. */
        UPPER,
        /** Only the lower triangle (j &lt;= i) may be non-zero. */
        LOWER
    }

    /**
     * p = l^T l for a square l, written in full and exactly symmetric (p[i][j] and p[j][i] are the same
     * float: one triangle is computed and mirrored). {@code shape} promises that l is upper or lower
     * triangular (the other triangle zero), which a backend may exploit; FULL promises nothing. p must
     * not overlap l. The CPU backend computes the upper triangle with blocked products that skip l's
     * zero blocks (1/2 of a GEMM's work, 1/6 for a triangular l); CUDA uses cublasSsyrk (1/2).
     */
    void gram(Tensor l, Triangle shape, Tensor p);

    // ------------------------------------------------------------------ elementwise

    /** y = alpha * x + beta * y (same size). beta == 0 ignores y's previous contents. */
    void axpby(float alpha, Tensor x, float beta, Tensor y);

    /** y = alpha * x + y. */
    default void axpy(float alpha, Tensor x, Tensor y) { axpby(alpha, x, 1f, y); }

    /** x = alpha * x. */
    default void scale(float alpha, Tensor x) { axpby(0f, x, alpha, x); }

    /** out = x o y (elementwise product). */
    void mul(Tensor x, Tensor y, Tensor out);

    /** Every element clamped to [lo, hi]. */
    void clamp(Tensor x, float lo, float hi);

    /** m[i, :] += row for every row i (row is 1 x m.cols). */
    void addRowVector(Tensor m, Tensor row);

    /** out = alpha * (sum over rows of m) + beta * out; out is 1 x m.cols. */
    void columnSums(float alpha, Tensor m, float beta, Tensor out);

    /** h = phi(a). */
    void activation(Activation phi, Tensor a, Tensor h);

    /** out = phi'(a) o g. */
    void activationDerivMul(Activation phi, Tensor a, Tensor g, Tensor out);

    /** out = phi''(a) o g. */
    void activationSecondDerivMul(Activation phi, Tensor a, Tensor g, Tensor out);

    /** Keeps the upper (upper = true, j &gt;= i) or lower (j &lt;= i) triangle of a square matrix, zeroes the rest. */
    void triangularMask(Tensor t, boolean upper);

    /** t = s * I (square). */
    void setIdentity(Tensor t, float s);

    /**
     * out = (a + shift I)^-1 for a symmetric positive definite n x n matrix {@code a} (only its lower
     * triangle is read; out is exactly symmetric; out may be a). Solved in double precision on the host
     * (Cholesky, LAPACK dpotrf/dpotri): the matrix is downloaded, inverted and uploaded, so this op
     * waits for queued work and cannot be captured in a graph. Meant for occasional factor inversions
     * (KFAC inverts its Kronecker factors every few steps). Throws a {@link BackendException} when
     * a + shift I is not positive definite or holds a non-finite value; out is then unchanged.
     */
    default void spdInverse(Tensor a, float shift, Tensor out) {
        Checks.square("spdInverse", a);
        Checks.sameShape("spdInverse", "a", a, "out", out);
        if (!Float.isFinite(shift) || shift < 0f)
            throw new BackendException("spdInverse: shift must be finite and >= 0, got " + shift);
        float[] inv = SpdInverse.invert("spdInverse", download(a), a.rows(), shift);
        upload(inv, out);
    }

    /**
     * out = L, lower triangular, with L^T L = (a + shift I)^-1: the inverse of the Cholesky factor C of
     * a + shift I = C C^T, for a symmetric positive definite n x n {@code a} (lower triangle read). Computed
     * like {@link #spdInverse} (double precision on the host, LAPACK dpotrf/dtrtri; not capturable; out may be
     * a). FishLeg starts its factors from it ({@code --q-init kfac}). Throws a {@link BackendException} when
     * a + shift I is not positive definite or holds a non-finite value; out is then unchanged.
     */
    default void spdInverseFactor(Tensor a, float shift, Tensor out) {
        Checks.square("spdInverseFactor", a);
        Checks.sameShape("spdInverseFactor", "a", a, "out", out);
        if (!Float.isFinite(shift) || shift < 0f)
            throw new BackendException("spdInverseFactor: shift must be finite and >= 0, got " + shift);
        upload(SpdInverse.inverseCholesky("spdInverseFactor", download(a), a.rows(), shift), out);
    }

    // ------------------------------------------------------------------ reductions to device scalars

    /** out(1x1) = sum_i x_i y_i. */
    void dot(Tensor x, Tensor y, Tensor out);

    /** out(1x1) = sum_i x_i^2. */
    void sumSquares(Tensor x, Tensor out);

    /** out(1x1) = number of elements of x that are NaN or infinite. */
    void countNonFinite(Tensor x, Tensor out);

    /**
     * y = alpha * s^power * x, with s = element 0 of the device scalar {@code s}. When s^power is not
     * finite (e.g. s = 0 and power &lt; 0) y = 0 instead. Used for u = g / ||g||: power = -0.5 on
     * sumSquares.
     */
    void scaleByScalar(Tensor x, Tensor s, float power, float alpha, Tensor y);

    /** out(1x1) = a(1x1) * b(1x1) * alpha + beta * out. Small scalar arithmetic that stays on the device. */
    void scalarMulAdd(float alpha, Tensor a, Tensor b, float beta, Tensor out);

    // ------------------------------------------------------------------ likelihoods (row-wise)

    /**
     * out(1x1) = (1/N) * sum over the N rows of the per-example negative log-likelihood summed over
     * outputs, numerically stable:
     * BERNOULLI: softplus(f) - y f; GAUSSIAN: (y-f)^2 / (2 sigma^2) + log sigma + log(2 pi) / 2;
     * SOFTMAX: logsumexp(f_row) - sum_j y_j f_j. {@code sigma} is a 1x1 device scalar, used by GAUSSIAN only
     * (may be null otherwise).
     */
    void nll(LikelihoodKind kind, Tensor f, Tensor y, Tensor sigma, Tensor out);

    /**
     * grad = scale * d NLL_row / d f, row-wise: BERNOULLI sigmoid(f) - y; GAUSSIAN (f - y) / sigma^2;
     * SOFTMAX softmax(f) - y.
     */
    void nllGrad(LikelihoodKind kind, Tensor f, Tensor y, Tensor sigma, float scale, Tensor grad);

    /**
     * GAUSSIAN only: out(1x1) = scale * sum over all elements of d/dsigma [(y-f)^2/(2 sigma^2) + log sigma]
     * = scale * sum (1/sigma - (y-f)^2 / sigma^3).
     */
    void gaussianSigmaGrad(Tensor f, Tensor y, Tensor sigma, float scale, Tensor out);

    /**
     * out = scale * H(f) v row-wise, H the Hessian of the row NLL in f: BERNOULLI p(1-p) v;
     * GAUSSIAN v / sigma^2; SOFTMAX p o v - p (p^T v).
     */
    void outputHessianVec(LikelihoodKind kind, Tensor f, Tensor sigma, Tensor v, float scale, Tensor out);

    /**
     * y ~ p(y | f) from given noise of f's shape: BERNOULLI y = [noise &lt; sigmoid(f)] with uniform noise;
     * GAUSSIAN y = f + sigma * noise with standard normal noise; SOFTMAX y = one-hot of the class whose
     * cumulative softmax probability first exceeds noise[row, 0] (uniform), by inverse CDF.
     */
    void sampleTargets(LikelihoodKind kind, Tensor f, Tensor sigma, Tensor noise, Tensor y);

    // ------------------------------------------------------------------ fused optimizer updates

    /**
     * SGD with momentum and L2 weight decay, one fused pass over p:
     * g' = g + wd p; m = mu m + (1 - dampening) g'; p = p - lr (nesterov ? g' + mu m : m).
     * dampening = mu gives the EMA form of the paper code, dampening = 0 the classic form; mu = 0 is
     * plain SGD (m is then still written).
     */
    void momentumStep(Tensor p, Tensor g, Tensor m, float lr, float mu, float dampening, float wd, boolean nesterov);

    /**
     * Adam / AdamW in one fused pass: g' = g + l2 p; m = b1 m + (1-b1) g'; v = b2 v + (1-b2) g'^2;
     * p = p - lr * ( (m / bc1) / (sqrt(v / bc2) + eps) + decoupledWd * p ), with bc1 = 1 - b1^t and
     * bc2 = 1 - b2^t computed by the caller for step t >= 1.
     */
    void adamStep(Tensor p, Tensor g, Tensor m, Tensor v, float lr, float b1, float b2, float eps,
                  float l2, float decoupledWd, float bc1, float bc2);

    /**
     * {@link #adamStep} with the step number read from the device: t = element 0 of the 1x1 tensor
     * {@code step} (a whole number >= 1, exact in float32 up to 2^24), bc1 = (float) (1 - b1^t) and
     * bc2 = (float) (1 - b2^t) computed in double, exactly as a caller of adamStep computes them. The caller
     * advances {@code step} on the device (e.g. {@code scalarMulAdd(1, one, one, 1, step)}), so a captured
     * graph that holds both keeps counting on every replay.
     */
    void adamStepAt(Tensor p, Tensor g, Tensor m, Tensor v, float lr, float b1, float b2, float eps,
                    float l2, float decoupledWd, Tensor step);

    // ------------------------------------------------------------------ graphs

    /**
     * A recorded sequence of this backend's operations that can be queued again as a whole (CUDA: one
     * cuGraphLaunch instead of one launch per kernel). A replay repeats the recorded operations with the
     * arguments they were recorded with, on the same tensors; random fills draw fresh numbers.
     */
    interface Graph extends AutoCloseable {
        /** Queues one replay (asynchronous like any operation). */
        void launch();

        @Override
        void close();
    }

    /** Whether {@link #captureGraph} is available and worth using here (CUDA: yes; CPU: no). */
    default boolean supportsGraphs() { return false; }

    /**
     * Records what {@code work} queues on this backend into a {@link Graph} WITHOUT executing it (launch
     * the graph to run it). While recording, operations that allocate, copy to or from the host, wait, or
     * reset the random stream ({@link #zeros}, {@link #upload}, {@link #download}, {@link #readScalar},
     * {@link #synchronize}, {@link #gatherRows}, {@link #setSeed}, {@link #setRngState}, {@link #rngOffset},
     * closing a tensor) throw {@link BackendException}; the capture is then abandoned and nothing has run.
     * Tensors used inside must stay open while the graph lives.
     */
    default Graph captureGraph(Runnable work) {
        throw new BackendException(name() + ": graph capture is not supported by this backend");
    }

    // ------------------------------------------------------------------ random numbers

    /** Restarts the Philox stream: key = seed, offset = 0. */
    void setSeed(long seed);

    /** The seed (Philox key) set by {@link #setSeed}. */
    long seed();

    /** Number of 128-bit Philox counters consumed so far (plain state for checkpoints). */
    long rngOffset();

    /** Restores a stream position saved with {@link #seed()} / {@link #rngOffset()}. */
    void setRngState(long seed, long offset);

    /**
     * Fills t with uniform draws in [0, 1): element i of the call uses counter (offset + i / 4), word
     * i % 4, mapped as (word >>> 8) * 2^-24; afterwards offset += ceil(size / 4).
     */
    void randUniform(Tensor t);

    /**
     * Fills t with normal draws mean + std * z: z from Box-Muller on the counter (offset + i / 2),
     * words 2(i%2)/2(i%2)+1 taken as uniforms u1 = (w0 >>> 8 + 1) * 2^-24 in (0, 1] and u2 = (w1 >>> 8) * 2^-24,
     * z = sqrt(-2 ln u1) cos(2 pi u2); afterwards offset += ceil(size / 2).
     */
    void randNormal(Tensor t, float mean, float std);

    /** Frees the backend's resources; tensors still open are freed too. */
    @Override
    void close();
}
