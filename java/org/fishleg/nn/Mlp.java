package org.fishleg.nn;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.fishleg.backend.Activation;
import org.fishleg.backend.Backend;
import org.fishleg.backend.LikelihoodKind;
import org.fishleg.backend.Tensor;

/**
 * A multi-layer perceptron with a likelihood, written once against the {@link Backend} ops.
 *
 * <p>All trainable parameters live in ONE flat 1 x P tensor ({@link #params()}); layer l's block is the
 * "[1, h] W" view of shape (n_in + 1) x n_out with the bias as row 0 (or n_in x n_out without bias),
 * so the forward pass is a = [1, h] W. A learned Gaussian sigma is the last element (sigma itself, or
 * s = log sigma when {@link Likelihood#logSigma}; {@link #sigma()} always gives sigma). Gradients, optimizer
 * state and FishLeg's u, z, d vectors use the same flat layout ({@link #block}).
 *
 * <p>Per-batch-size work buffers are allocated on first use and reused, so training steps allocate
 * nothing after the first. Not thread-safe.
 */
public final class Mlp implements AutoCloseable {

    private final Backend backend;
    private final MlpSpec spec;
    private final Likelihood likelihood;
    private final long[] offsets;
    private final long paramCount;
    private final Tensor params;
    private final Tensor grads;
    private final Tensor fixedSigma; // 1x1 when sigma is not learned (GAUSSIAN), else null
    private final Tensor one;        // 1x1 constant 1
    private final Tensor sigmaExp, negS, sigA, sigB; // log-sigma: sigma = exp(s) = sigmoid(s) / sigmoid(-s), else null
    private final float paramMin, paramMax;          // bounds of the sigma parameter (log bounds for log-sigma)
    private final Map<Integer, Workspace> workspaces = new HashMap<>();

    /**
     * Allocates the parameters (zero; call {@link #init}) and gradients of {@code spec} on {@code backend}; close the model to free them.
     * @param backend the backend that holds the parameters
     * @param spec the architecture
     * @param likelihood the output distribution
     */
    public Mlp(Backend backend, MlpSpec spec, Likelihood likelihood) {
        this.backend = backend;
        this.spec = spec;
        this.likelihood = likelihood;
        List<MlpSpec.LayerSpec> ls = spec.layers();
        offsets = new long[ls.size()];
        long off = 0;
        for (int i = 0; i < ls.size(); i++) {
            offsets[i] = off;
            off += ls.get(i).paramCount();
        }
        if (likelihood.learnSigma) off += 1;
        if (off > Integer.MAX_VALUE) throw new IllegalArgumentException("model has too many parameters: " + off);
        paramCount = off;
        params = backend.zeros(1, (int) off);
        grads = backend.zeros(1, (int) off);
        fixedSigma = likelihood.learnSigma ? null : backend.upload(new float[] {likelihood.sigma}, 1, 1);
        one = backend.upload(new float[] {1f}, 1, 1);
        boolean log = likelihood.logSigma;
        sigmaExp = log ? backend.zeros(1, 1) : null;
        negS = log ? backend.zeros(1, 1) : null;
        sigA = log ? backend.zeros(1, 1) : null;
        sigB = log ? backend.zeros(1, 1) : null;
        paramMin = log ? (float) Math.log(likelihood.sigmaMin) : likelihood.sigmaMin;
        paramMax = log ? (float) Math.log(likelihood.sigmaMax) : likelihood.sigmaMax;
        if (likelihood.learnSigma) backend.fill(sigmaParam(), sigmaInitParam());
    }

    /**
     * The backend holding the parameters.
     * @return the backend
     */
    public Backend backend() { return backend; }
    /**
     * The architecture.
     * @return the architecture
     */
    public MlpSpec spec() { return spec; }
    /**
     * The output distribution (the loss is its negative log-likelihood).
     * @return the likelihood
     */
    public Likelihood likelihood() { return likelihood; }
    /**
     * Number of dense layers.
     * @return the number of dense layers
     */
    public int layerCount() { return offsets.length; }
    /**
     * Layer {@code l}'s shape and activation.
     * @param l a layer index, 0 first
     * @return the layer's shape, activation and bias
     */
    public MlpSpec.LayerSpec layer(int l) { return spec.layers().get(l); }
    /**
     * Number of trainable scalars P.
     * @return P
     */
    public int paramCount() { return (int) paramCount; }
    /**
     * The flat 1 x P parameter vector.
     * @return the parameters (a live backend tensor)
     */
    public Tensor params() { return params; }
    /**
     * The flat 1 x P gradient vector written by {@link #lossAndGradient}.
     * @return the gradient (a live backend tensor)
     */
    public Tensor grads() { return grads; }

    /**
     * Offset of layer l's block in the flat vector.
     * @param l a layer index
     * @return the offset of its block, in elements
     */
    public long blockOffset(int l) { return offsets[l]; }

    /**
     * Layer l's block ((n_in+1) x n_out, bias row 0) of any flat 1 x P vector.
     * @param flat a 1 x P vector
     * @param l a layer index
     * @return a view of layer l's block
     */
    public Tensor block(Tensor flat, int l) {
        checkFlat(flat);
        MlpSpec.LayerSpec s = layer(l);
        return flat.view(offsets[l], s.blockRows(), s.out);
    }

    /**
     * The weights block of layer l of the parameters.
     * @param l a layer index
     * @return a view of layer l's parameter block
     */
    public Tensor weights(int l) { return block(params, l); }

    /**
     * True when the flat vector ends with a learned sigma.
     * @return whether sigma is learned
     */
    public boolean hasSigmaParam() { return likelihood.learnSigma; }

    /**
     * The learned-sigma element (1x1 view) of a flat vector; only when {@link #hasSigmaParam()}.
     * @param flat a 1 x P vector
     * @return a 1x1 view of its last element
     */
    public Tensor sigmaElement(Tensor flat) {
        checkFlat(flat);
        if (!likelihood.learnSigma) throw new IllegalStateException("this model has no learned sigma");
        return flat.view(paramCount - 1, 1, 1);
    }

    /**
     * The current sigma as a 1x1 device scalar: a view of the parameters when learned directly; for a
     * log-sigma parameter s, a buffer recomputed from s on every call (exp(s) = sigmoid(s) / sigmoid(-s),
     * four device ops on 1x1 tensors, no host read), so it is never stale after an update.
     * @return sigma, 1x1 on the device
     */
    public Tensor sigma() {
        if (!likelihood.learnSigma) return fixedSigma;
        if (!likelihood.logSigma) return sigmaParam();
        Tensor s = sigmaParam();
        backend.axpby(-1f, s, 0f, negS);
        backend.activation(Activation.SIGMOID, s, sigA);
        backend.activation(Activation.SIGMOID, negS, sigB);
        backend.scaleByScalar(sigA, sigB, -1f, 1f, sigmaExp);
        return sigmaExp;
    }

    /**
     * The trained sigma parameter (1x1 view of the parameters): sigma, or s = log sigma.
     * @return the 1x1 view of the sigma parameter
     */
    public Tensor sigmaParam() {
        if (!likelihood.learnSigma) throw new IllegalStateException("this model has no learned sigma");
        return params.view(paramCount - 1, 1, 1);
    }

    private float sigmaInitParam() {
        return likelihood.logSigma ? (float) Math.log(likelihood.sigma) : likelihood.sigma;
    }

    /**
     * A 1x1 tensor holding 1 (for scalar arithmetic on the device).
     * @return the constant 1, 1x1
     */
    public Tensor one() { return one; }

    private void checkFlat(Tensor flat) {
        if (flat.size() != paramCount)
            throw new IllegalArgumentException("expected a flat vector of " + paramCount + " elements, got " + flat.shape());
    }

    /**
     * A new zero 1 x P tensor in the flat parameter layout (caller closes it).
     * @return a new zero vector
     */
    public Tensor newFlat() { return backend.zeros(1, (int) paramCount); }

    /**
     * Initialises from a seed: W ~ N(0, 1/n_in), biases 0, a learned sigma at its initial value. Uses the
     * backend's Philox stream, so CPU and CUDA get the same weights.
     * @param seed the seed of the initial weights
     */
    public void init(long seed) { init(seed, WeightInit.NORMAL); }

    /**
     * Initialises from a seed with the given scheme ({@link WeightInit}); a learned sigma at its initial value.
     * Uses the backend's Philox stream, so CPU and CUDA get the same weights.
     * @param seed the seed of the initial weights
     * @param scheme how the weights (and biases) are drawn
     */
    public void init(long seed, WeightInit scheme) {
        backend.setSeed(seed);
        for (int l = 0; l < layerCount(); l++) {
            MlpSpec.LayerSpec s = layer(l);
            Tensor w = weights(l);
            if (scheme == WeightInit.UNIFORM) {
                float bound = (float) (1.0 / Math.sqrt(s.in));
                try (Tensor u = backend.zeros(w.rows(), w.cols())) {
                    backend.randUniform(u);
                    backend.fill(w, -bound);
                    backend.axpby(2f * bound, u, 1f, w);
                }
            } else if (s.bias) {
                backend.fill(w.row(0), 0f);
                backend.randNormal(w.rowRange(1, w.rows()), 0f, (float) (1.0 / Math.sqrt(s.in)));
            } else {
                backend.randNormal(w, 0f, (float) (1.0 / Math.sqrt(s.in)));
            }
        }
        if (likelihood.learnSigma) backend.fill(sigmaParam(), sigmaInitParam());
    }

    /** Keeps a learned sigma inside its bounds (call after each parameter update; log bounds for log-sigma). */
    public void projectParams() {
        if (likelihood.learnSigma) backend.clamp(sigmaParam(), paramMin, paramMax);
    }

    // ------------------------------------------------------------------ work buffers

    /** Buffers for one batch size: pre-activations a, activations h, errors d, their R-op twins. */
    public final class Workspace implements AutoCloseable {
        /** Rows of every buffer. */
        public final int batch;
        /** Per layer: pre-activations a, activations h, back-propagated errors d, their R-op twins ra, rh, rd, and scratch t. */
        public final Tensor[] a, h, d, ra, rh, rd, t;
        /** batch x n_out scratch tensors at the output. */
        public final Tensor outGrad, outTmp, noise, sampled;
        /** 1x1 scratch scalars. */
        public final Tensor s0, s1, s2;
        private final List<Tensor> owned = new ArrayList<>();

        Workspace(int batch) {
            this.batch = batch;
            int n = layerCount();
            a = new Tensor[n]; h = new Tensor[n]; d = new Tensor[n];
            ra = new Tensor[n]; rh = new Tensor[n]; rd = new Tensor[n]; t = new Tensor[n];
            for (int l = 0; l < n; l++) {
                int w = layer(l).out;
                a[l] = own(batch, w);
                h[l] = layer(l).activation == Activation.IDENTITY ? a[l] : own(batch, w);
                d[l] = own(batch, w);
                ra[l] = own(batch, w);
                rh[l] = layer(l).activation == Activation.IDENTITY ? ra[l] : own(batch, w);
                rd[l] = own(batch, w);
                t[l] = own(batch, w);
            }
            int o = spec.outputSize();
            outGrad = own(batch, o);
            outTmp = own(batch, o);
            noise = own(batch, o);
            sampled = own(batch, o);
            s0 = own(1, 1); s1 = own(1, 1); s2 = own(1, 1);
        }

        private Tensor own(int r, int c) {
            Tensor t = backend.zeros(r, c);
            owned.add(t);
            return t;
        }

        /**
         * The network output f for the last forward pass.
         * @return the output, batch x n_out
         */
        public Tensor output() { return h[h.length - 1]; }

        @Override
        public void close() {
            for (Tensor t : owned) t.close();
            owned.clear();
        }
    }

    /**
     * The work buffers for batch size {@code batch}, allocated on first use and kept until
     * {@link #releaseWorkspace} or {@link #close()} (a training step therefore allocates nothing after the
     * first). Each size costs about 7 x batch x (sum of the layer widths) floats: release sizes used once
     * (a large evaluation or prediction), as {@code org.fishleg.api.Model} does after each predict/evaluate.
     * @param batch the batch size
     * @return the work buffers of that batch size
     */
    public Workspace workspace(int batch) {
        return workspaces.computeIfAbsent(batch, Workspace::new);
    }

    /**
     * The batch sizes that currently hold work buffers (a snapshot).
     * @return the batch sizes with work buffers
     */
    public java.util.Set<Integer> workspaceSizes() { return java.util.Set.copyOf(workspaces.keySet()); }

    /**
     * Frees the work buffers of batch size {@code batch} (nothing when it has none). A {@link Workspace} or a
     * {@link #forward(Tensor)} output of that size obtained earlier must not be used afterwards; the next use of
     * that size allocates afresh. Do not release a size a captured step graph uses (the training batch size).
     * @param batch the batch size
     */
    public void releaseWorkspace(int batch) {
        Workspace w = workspaces.remove(batch);
        if (w != null) w.close();
    }

    private void checkBatch(Tensor x, Tensor y) {
        if (x.cols() != spec.inputSize())
            throw new IllegalArgumentException("input has " + x.cols() + " columns, the model expects " + spec.inputSize());
        if (y != null && (y.rows() != x.rows() || y.cols() != spec.outputSize()))
            throw new IllegalArgumentException("targets " + y.shape() + " do not match inputs " + x.shape()
                    + " and model output width " + spec.outputSize());
    }

    /**
     * The input of layer l: x for l = 0, else h[l-1].
     * @param ws the work buffers of the last forward pass
     * @param x the batch inputs
     * @param l a layer index
     * @return layer l's input
     */
    public static Tensor input(Workspace ws, Tensor x, int l) { return l == 0 ? x : ws.h[l - 1]; }

    /**
     * Rows of a block that multiply the layer input (all rows without bias, rows 1.. with bias).
     * @param block a layer block
     * @param l its layer index
     * @return the rows of the block without the bias row
     */
    public Tensor weightRows(Tensor block, int l) { return layer(l).bias ? block.rowRange(1, block.rows()) : block; }

    /**
     * Forward pass; returns the output f (batch x n_out) as a VIEW into the model's work buffers for
     * {@code x.rows()}: it is overwritten by the next forward, loss or gradient on a batch of the same size and
     * freed by {@link #releaseWorkspace}/{@link #close()}. Copy it out ({@link Backend#download}) to keep it; the
     * buffers of that batch size stay allocated (see {@link #workspace}). {@code org.fishleg.api.Model#predict}
     * does this in chunks and returns host arrays.
     * @param x the batch inputs, batch x n_in
     * @return the output, a view into the work buffers
     */
    public Tensor forward(Tensor x) {
        checkBatch(x, null);
        Workspace ws = workspace(x.rows());
        forward(ws, x);
        return ws.output();
    }

    /**
     * Forward pass into the given workspace.
     * @param ws the work buffers of x's batch size
     * @param x the batch inputs
     */
    public void forward(Workspace ws, Tensor x) {
        for (int l = 0; l < layerCount(); l++) {
            Tensor w = weights(l);
            backend.gemm(false, false, 1f, input(ws, x, l), weightRows(w, l), 0f, ws.a[l]);
            if (layer(l).bias) backend.addRowVector(ws.a[l], w.row(0));
            if (layer(l).activation != Activation.IDENTITY) backend.activation(layer(l).activation, ws.a[l], ws.h[l]);
        }
    }

    /**
     * loss(1x1) = mean over the batch of the NLL summed over outputs.
     * @param x the batch inputs
     * @param y the batch targets
     * @param lossOut a 1x1 tensor that receives the loss
     */
    public void loss(Tensor x, Tensor y, Tensor lossOut) {
        checkBatch(x, y);
        Workspace ws = workspace(x.rows());
        forward(ws, x);
        backend.nll(likelihood.kind, ws.output(), y, sigma(), lossOut);
    }

    /**
     * out(1x1) = mean over the batch rows of ||f(x) - y||^2 (squared error summed over outputs), whatever the
     * likelihood; f is the network output (for a Gaussian likelihood, its mean).
     * @param x the batch inputs
     * @param y the batch targets
     * @param out a 1x1 tensor that receives the mean squared error
     */
    public void squaredError(Tensor x, Tensor y, Tensor out) {
        checkBatch(x, y);
        Workspace ws = workspace(x.rows());
        forward(ws, x);
        backend.axpby(1f, ws.output(), 0f, ws.outTmp);
        backend.axpy(-1f, y, ws.outTmp);
        backend.sumSquares(ws.outTmp, out);
        backend.scale(1f / x.rows(), out);
    }

    /**
     * Forward and backward pass: lossOut (1x1, may be null) = mean NLL, gradOut (flat 1 x P) = its
     * gradient with respect to all parameters (overwritten).
     * @param x the batch inputs
     * @param y the batch targets
     * @param lossOut a 1x1 tensor that receives the loss, or null
     * @param gradOut a 1 x P tensor that receives the gradient
     */
    public void lossAndGradient(Tensor x, Tensor y, Tensor lossOut, Tensor gradOut) {
        checkBatch(x, y);
        checkFlat(gradOut);
        Workspace ws = workspace(x.rows());
        forward(ws, x);
        Tensor f = ws.output();
        Tensor sig = sigma();
        if (lossOut != null) backend.nll(likelihood.kind, f, y, sig, lossOut);
        float inv = 1f / x.rows();
        int top = layerCount() - 1;
        // d NLL / d f, then through the output activation
        backend.nllGrad(likelihood.kind, f, y, sig, inv, ws.outGrad);
        backend.activationDerivMul(layer(top).activation, ws.a[top], ws.outGrad, ws.d[top]);
        backward(ws, x, ws.d, gradOut);
        if (likelihood.learnSigma) {
            backend.gaussianSigmaGrad(f, y, sig, inv, sigmaElement(gradOut));
            // log-sigma: dL/ds = sigma dL/dsigma
            if (likelihood.logSigma) backend.scalarMulAdd(1f, sig, sigmaElement(gradOut), 0f, sigmaElement(gradOut));
        }
    }

    /**
     * Back-propagated errors of the loss on targets drawn from the model itself: given the last forward
     * pass on x (in ws), samples y ~ p(y | f) into ws.sampled (Gaussian noise or uniforms in ws.noise),
     * and fills ws.d[l] for every layer with the errors of the mean NLL on those targets (scaled by 1/B),
     * without computing parameter gradients. Used by the sampled-target Fisher estimators (the sampled
     * Hessian product, KFAC's output-side factors).
     * @param ws the work buffers of the last forward pass
     */
    public void sampledErrors(Workspace ws) {
        int top = layerCount() - 1;
        Tensor f = ws.output();
        if (likelihood.kind == org.fishleg.backend.LikelihoodKind.GAUSSIAN) backend.randNormal(ws.noise, 0f, 1f);
        else backend.randUniform(ws.noise);
        backend.sampleTargets(likelihood.kind, f, sigma(), ws.noise, ws.sampled);
        backend.nllGrad(likelihood.kind, f, ws.sampled, sigma(), 1f / ws.batch, ws.outGrad);
        backend.activationDerivMul(layer(top).activation, ws.a[top], ws.outGrad, ws.d[top]);
        for (int l = top; l > 0; l--) {
            backend.gemm(false, true, 1f, ws.d[l], weightRows(weights(l), l), 0f, ws.d[l - 1]);
            backend.activationDerivMul(layer(l - 1).activation, ws.a[l - 1], ws.d[l - 1], ws.d[l - 1]);
        }
    }

    /**
     * Gradient into {@link #grads()}.
     * @param x the batch inputs
     * @param y the batch targets
     * @param lossOut a 1x1 tensor that receives the loss, or null
     */
    public void lossAndGradient(Tensor x, Tensor y, Tensor lossOut) { lossAndGradient(x, y, lossOut, grads); }

    /**
     * Back-propagation given delta[top] (error at the last pre-activation, already divided by the batch
     * size): fills delta[l] for lower layers and writes every layer block of gradOut (not the sigma
     * element). Uses the activations of the last forward pass on x.
     * @param ws the work buffers of the last forward pass
     * @param x the batch inputs of that pass
     * @param delta per-layer errors; delta[top] given, the lower ones filled
     * @param gradOut a 1 x P tensor that receives the layer gradients
     */
    public void backward(Workspace ws, Tensor x, Tensor[] delta, Tensor gradOut) {
        for (int l = layerCount() - 1; l >= 0; l--) {
            Tensor g = block(gradOut, l);
            Tensor in = input(ws, x, l);
            backend.gemm(true, false, 1f, in, delta[l], 0f, weightRows(g, l));
            if (layer(l).bias) backend.columnSums(1f, delta[l], 0f, g.row(0));
            if (l > 0) {
                backend.gemm(false, true, 1f, delta[l], weightRows(weights(l), l), 0f, delta[l - 1]);
                backend.activationDerivMul(layer(l - 1).activation, ws.a[l - 1], delta[l - 1], delta[l - 1]);
            }
        }
    }

    /**
     * Forward-mode (R-op) pass for a direction z (flat): ra[l] = d a_l / d theta . z and rh[l] likewise,
     * given the activations of the last forward pass on x.
     * @param ws the work buffers of the last forward pass
     * @param x the batch inputs of that pass
     * @param z the direction, a 1 x P vector
     */
    public void rForward(Workspace ws, Tensor x, Tensor z) {
        checkFlat(z);
        for (int l = 0; l < layerCount(); l++) {
            Tensor zb = block(z, l);
            backend.gemm(false, false, 1f, input(ws, x, l), weightRows(zb, l), 0f, ws.ra[l]);
            if (l > 0) backend.gemm(false, false, 1f, ws.rh[l - 1], weightRows(weights(l), l), 1f, ws.ra[l]);
            if (layer(l).bias) backend.addRowVector(ws.ra[l], zb.row(0));
            if (layer(l).activation != Activation.IDENTITY)
                backend.activationDerivMul(layer(l).activation, ws.a[l], ws.ra[l], ws.rh[l]);
        }
    }

    @Override
    public void close() {
        for (Workspace w : workspaces.values()) w.close();
        workspaces.clear();
        params.close();
        grads.close();
        if (fixedSigma != null) fixedSigma.close();
        if (sigmaExp != null) { sigmaExp.close(); negS.close(); sigA.close(); sigB.close(); }
        one.close();
    }

    /**
     * True when the likelihood is Gaussian.
     * @return whether the likelihood is Gaussian
     */
    public boolean gaussian() { return likelihood.kind == LikelihoodKind.GAUSSIAN; }
}
