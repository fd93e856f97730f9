package org.fishleg.optim.fishleg;

import java.util.ArrayList;
import java.util.List;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.curvature.FisherVectorProduct;
import org.fishleg.curvature.GaussNewton;
import org.fishleg.curvature.SampledHessian;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.fishleg.optim.Optimizer;
import org.fishleg.optim.OptimizerState;
import org.fishleg.optim.kron.KroneckerBlocks;

/**
 * FishLeg (Garcia et al., ICLR 2023): natural-gradient descent with a learned Kronecker-factored
 * approximation Q(lambda) of the damped inverse Fisher (F + gamma I)^-1, trained online by
 * minimising the auxiliary loss A(lambda; u) = 1/2 z^T (F + gamma I) z - u^T z, z = Q(lambda) u.
 *
 * <p>Per dense layer l, Q_l(U) = P_l U S_l with P_l = L_l^T L_l and S_l = R_l^T R_l (L, R full, or L
 * upper and R lower triangular); a learned Gaussian sigma gets the scalar block Q = lambda^2. The
 * gradients of A are the closed forms grad_L = L (X + X^T), X = U S D^T and grad_R = R (Y + Y^T),
 * Y = D^T P U with D = (F + gamma I) z - u (fishleg-algorithm.md section 2), and lambda takes one Adam
 * step per auxiliary update. With {@link FishLegConfig#preconditionAux} D is replaced by Q D (one more
 * dense Q apply per auxiliary update). P and S are cached after each update.
 *
 * <p>When u and the preconditioned vector are the current batch gradient (the OCaml ordering with
 * decoupled or no weight decay), every layer's gradient is G = A^T Delta with A = [1, h] (batch x
 * (n_in+1)) and Delta the back-propagated errors, so Q G = (A P)^T (Delta S) and the L, R gradients
 * are computed from these factors in O(n^2 B) without any dense n^3 product ({@link FishLegConfig#lowRank}).
 *
 * <p>The per-layer apply of Q (dense, or from the batch-gradient factors) is {@code optim.kron.KroneckerBlocks} (internal),
 * shared with KFAC; this class owns lambda, its closed-form gradients and the step.
 *
 * <p>Q starts at s I, or ({@link FishLegConfig#qInit} KFAC) at KFAC's Kronecker-factored estimate of
 * (F + gamma I)^-1 on the first training batch; with {@link FishLegConfig#qInitSteps} K it is re-estimated from KFAC's
 * running-mean factors before each of the first K steps (KFAC's warm-up; factorised every step, or with
 * {@link FishLegConfig#qInitEvery} on KFAC's schedule of inverses), and the
 * auxiliary loss alone moves it from step K on.
 *
 * <p>Everything runs on the model's backend; nothing is copied to the host during a step (but the first K
 * steps with the KFAC start, which factorise on the host).
 */
public final class FishLeg implements Optimizer, org.fishleg.optim.FlopCounter, org.fishleg.optim.LearningRateAdjustable {

    private final Mlp model;
    private final Backend b;
    private final FishLegConfig cfg;
    private final AuxBatchSource aux;
    private final FisherVectorProduct fvp;
    private final int layers;

    // lambda = [L_0, R_0, L_1, R_1, ..., (sigma lambda)], Adam moments, gradient, cached P/S at the same offsets
    private final Tensor lambda, lamM, lamV, lamGrad, ps;
    private final Tensor[] L, R, P, S, gL, gR;
    private final Tensor sigmaLam, sigmaGrad;

    private final Tensor gbar;   // EMA of gradients (when needed)
    private final Tensor mom;    // EMA of natural gradients (variant ordering)
    private final Tensor u, z, fz, qg;
    private final Tensor scalar, scalar2;
    private final Tensor clipScale; // step safeguard: min(1, maxStepNorm / ||Q g||)
    private final Tensor auxCount; // auxiliary (Adam) steps taken, as a device scalar: the bias corrections read it
    private final Tensor scratchSq1, scratchSq2; // dense-path scratch
    private final Tensor xAux;
    private final List<Tensor> owned = new ArrayList<>();

    /** Q's per-layer blocks P (x) S; its low-rank buffers are kept per batch size until close (graphs hold their addresses). */
    private final KroneckerBlocks q;
    private long step;
    private long auxSteps;
    /**
     * With {@link FishLegConfig.QInit#KFAC} and {@link FishLegConfig#qInitSteps} above 1: the running means Abar_l, Gbar_l
     * of every layer, one after the other (part of the state until step qInitSteps); else null.
     */
    private final Tensor qInitStats;
    /** With {@link FishLegConfig.QInit#KFAC}: the factors still wait for the next training batch (steps 0 to qInitSteps - 1). */
    private boolean qInitPending;

    /**
     * A builder starting from {@link FishLegConfig#defaults()}; the auxiliary batches are given when it creates the optimizer.
     * @return a builder with the default configuration
     */
    public static FishLegBuilder builder() { return new FishLegBuilder(); }

    /**
     * FishLeg for {@code model} (its backend holds all state; close to free it), drawing auxiliary batches of {@code cfg.auxBatchSize} inputs from {@code aux}.
     * @param model the model whose parameters are updated
     * @param cfg the hyper-parameters
     * @param aux the source of the auxiliary batches
     */
    public FishLeg(Mlp model, FishLegConfig cfg, AuxBatchSource aux) {
        this.model = model;
        this.b = model.backend();
        this.cfg = cfg;
        this.lr = cfg.lr;
        this.aux = aux;
        this.fvp = cfg.fisher == FishLegConfig.FisherProduct.GAUSS_NEWTON ? new GaussNewton() : new SampledHessian();
        this.layers = model.layerCount();

        long size = 0;
        long maxSq = 1;
        for (int l = 0; l < layers; l++) {
            MlpSpec.LayerSpec s = model.layer(l);
            long n1 = s.blockRows(), n2 = s.out;
            size += n1 * n1 + n2 * n2;
            maxSq = Math.max(maxSq, Math.max(n1 * n1, n2 * n2));
        }
        if (model.hasSigmaParam()) size += 1;
        if (size > Integer.MAX_VALUE) throw new IllegalArgumentException("FishLeg factors too large: " + size);
        lambda = own(1, (int) size);
        lamM = own(1, (int) size);
        lamV = own(1, (int) size);
        lamGrad = own(1, (int) size);
        ps = own(1, (int) size);
        L = new Tensor[layers]; R = new Tensor[layers]; P = new Tensor[layers]; S = new Tensor[layers];
        gL = new Tensor[layers]; gR = new Tensor[layers];
        long off = 0;
        for (int l = 0; l < layers; l++) {
            MlpSpec.LayerSpec s = model.layer(l);
            int n1 = s.blockRows(), n2 = s.out;
            L[l] = lambda.view(off, n1, n1); P[l] = ps.view(off, n1, n1); gL[l] = lamGrad.view(off, n1, n1);
            off += (long) n1 * n1;
            R[l] = lambda.view(off, n2, n2); S[l] = ps.view(off, n2, n2); gR[l] = lamGrad.view(off, n2, n2);
            off += (long) n2 * n2;
        }
        sigmaLam = model.hasSigmaParam() ? lambda.view(off, 1, 1) : null;
        sigmaGrad = model.hasSigmaParam() ? lamGrad.view(off, 1, 1) : null;

        boolean needGbar = cfg.ordering == FishLegConfig.Ordering.MOMENTUM_ON_GRADIENT
                || cfg.auxDirection == FishLegConfig.AuxDirection.MOMENTUM_GRADIENT;
        gbar = needGbar ? own(1, model.paramCount()) : null;
        mom = cfg.ordering == FishLegConfig.Ordering.MOMENTUM_ON_NATURAL_GRADIENT ? own(1, model.paramCount()) : null;
        u = own(1, model.paramCount());
        z = own(1, model.paramCount());
        fz = own(1, model.paramCount());
        qg = own(1, model.paramCount());
        scalar = own(1, 1);
        scalar2 = own(1, 1);
        clipScale = own(1, 1);
        auxCount = own(1, 1);
        scratchSq1 = own(1, (int) maxSq);
        scratchSq2 = own(1, (int) maxSq);
        if (cfg.qInit == FishLegConfig.QInit.KFAC && cfg.qInitSteps > 1) {
            long n = 0;
            for (int l = 0; l < layers; l++) n += (long) L[l].rows() * L[l].rows() + (long) R[l].rows() * R[l].rows();
            if (n > Integer.MAX_VALUE - 8)
                throw new IllegalArgumentException("FishLeg --q-init-steps: the running-mean factors of this model need " + n
                        + " floats, more than one tensor holds");
            qInitStats = own(1, (int) n);
        } else {
            qInitStats = null;
        }
        q = new KroneckerBlocks(model, P, S);
        xAux = own(cfg.auxBatchSize, model.spec().inputSize());
        resetFactors();
    }

    private Tensor own(int r, int c) {
        Tensor t = b.zeros(r, c);
        owned.add(t);
        return t;
    }

    /** L = R = s^(1/4) I, sigma block lambda = s^(1/2), so Q_0 = s I; Adam moments cleared. */
    void resetFactors() {
        float q = (float) Math.pow(cfg.initScale, 0.25);
        for (int l = 0; l < layers; l++) {
            b.setIdentity(L[l], q);
            b.setIdentity(R[l], q);
        }
        if (sigmaLam != null) b.fill(sigmaLam, (float) Math.sqrt(cfg.initScale));
        b.fill(lamM, 0f);
        b.fill(lamV, 0f);
        auxSteps = 0;
        b.fill(auxCount, 0f);
        refreshPS();
        qInitPending = cfg.qInit == FishLegConfig.QInit.KFAC;
    }

    /**
     * {@link FishLegConfig.QInit#KFAC}: L_l = C_A^-1 and R_l = C_G^-1 from the Cholesky factors of Abar + sqrt(gamma) I and
     * Gbar + sqrt(gamma) I on the batch x (Abar = A^T A / B, A = [1, h]; Gbar = B Delta^T Delta with Delta the errors of
     * targets sampled from the model), so P = (Abar + sqrt(gamma) I)^-1 and S = (Gbar + sqrt(gamma) I)^-1. Runs one forward
     * and sampled backward pass and two host factorisations per layer (eager; the step that follows reuses the gradient, and
     * recomputes it only on the low-rank path, which reads the work buffers' errors).
     */
    private void initFactorsFromBatch(Tensor x, Tensor y, Tensor lossOut) {
        int batch = x.rows();
        model.lossAndGradient(x, y, lossOut, model.grads());
        KroneckerBlocks.Batch f = q.batch(batch);
        f.captureInputs(x);
        Mlp.Workspace ws = model.workspace(batch);
        model.sampledErrors(ws);
        float shift = (float) Math.sqrt(cfg.damping);
        float decay = KroneckerBlocks.warmupDecay(step, 0.9f); // KFAC's warm-up running means
        boolean factorise = KroneckerBlocks.warmupInvertsAt(step, cfg.qInitEvery); // KFAC's schedule of inverses
        long off = 0;
        for (int l = 0; l < layers; l++) {
            int n1 = L[l].rows(), n2 = R[l].rows();
            Tensor fa, fg;
            if (qInitStats != null) {
                fa = qInitStats.view(off, n1, n1);
                fg = qInitStats.view(off + (long) n1 * n1, n2, n2);
                off += (long) n1 * n1 + (long) n2 * n2;
            } else {
                fa = scratchSq1.view(0, n1, n1);
                fg = scratchSq2.view(0, n2, n2);
            }
            b.gemm(true, false, (1f - decay) / batch, f.a(l), f.a(l), decay, fa);
            b.gemm(true, false, (1f - decay) * batch, ws.d[l], ws.d[l], decay, fg);
            if (!factorise) continue;
            try {
                b.spdInverseFactor(fa, shift, L[l]);
                b.spdInverseFactor(fg, shift, R[l]);
            } catch (org.fishleg.backend.BackendException e) {
                throw new org.fishleg.optim.CurvatureException("FishLeg --q-init kfac: the factors of layer " + l
                        + " cannot be factorised with damping " + cfg.damping + " (" + e.getMessage() + ")", e);
            }
        }
        if (factorise) refreshPS();
        qInitPending = step + 1 < cfg.qInitSteps;
    }

    /** P = L^T L, S = R^T R for every layer. */
    private void refreshPS() {
        boolean tri = cfg.factor == FishLegConfig.Factor.TRIANGULAR;
        for (int l = 0; l < layers; l++) {
            b.gram(L[l], tri ? Backend.Triangle.UPPER : Backend.Triangle.FULL, P[l]);
            b.gram(R[l], tri ? Backend.Triangle.LOWER : Backend.Triangle.FULL, S[l]);
        }
    }

    /**
     * The hyper-parameters.
     * @return the configuration
     */
    public FishLegConfig config() { return cfg; }
    /**
     * The model this optimizer was built for.
     * @return the model
     */
    public Mlp model() { return model; }

    @Override
    public String name() { return "fishleg"; }

    @Override
    public String describe() { return "fishleg " + cfg; }

    @Override
    public long stepCount() { return step; }

    /** The learning rate of the next step: {@link FishLegConfig#lr} unless a schedule changed it. */
    private float lr;

    @Override
    public float learningRate() { return lr; }

    @Override
    public void setLearningRate(float lr) { this.lr = org.fishleg.optim.LearningRateAdjustable.checked(lr); }

    /** Number of auxiliary (lambda) updates done. */
    long auxStepCount() { return auxSteps; }

    /**
     * The flat lambda vector [L_0, R_0, ..., sigma lambda] (a live backend tensor).
     * @return lambda
     */
    public Tensor lambda() { return lambda; }

    /** Layer l's factor L (live view). */
    Tensor factorL(int l) { return L[l]; }

    /** Layer l's factor R (live view). */
    Tensor factorR(int l) { return R[l]; }

    /** The flat gradient of the last auxiliary loss evaluation. */
    Tensor lambdaGradient() { return lamGrad; }

    /**
     * The low-rank path is used when Q acts on the plain current batch gradient (momentum on Q g,
     * u = g / ||g||, no weight decay inside the loss), lowRank is on, and it costs fewer operations at
     * this batch size than the dense products: sum_l B (n1^2 + n2^2 + n1 n2) &lt; sum_l (n1^2 n2 + n1 n2^2).
     * @param batch the batch size
     * @return whether the step at this batch size uses the low-rank form
     */
    public boolean lowRankApplies(int batch) {
        return cfg.lowRank && cfg.ordering == FishLegConfig.Ordering.MOMENTUM_ON_NATURAL_GRADIENT
                && cfg.auxDirection == FishLegConfig.AuxDirection.CURRENT_GRADIENT
                && (cfg.decoupledWeightDecay || cfg.weightDecay == 0f) && q.lowRankCheaper(batch);
    }

    // ------------------------------------------------------------------ step

    /** Whether step number {@code s} (0-based) updates lambda first. */
    private boolean auxAt(long s) {
        // a KFAC start on KFAC's schedule of inverses keeps KFAC's Q between its factorisations: no auxiliary update
        // until it is over (a start that factorises every step overwrites them anyway, but for the last one)
        if (cfg.qInitEvery > 1 && s < cfg.qInitSteps) return false;
        return cfg.auxLr > 0 && (s > 0 || cfg.auxAtStepZero) && (s % cfg.auxEvery == 0);
    }

    @Override
    public void step(Mlp m, Tensor x, Tensor y, Tensor lossOut) {
        if (m != model) throw new IllegalArgumentException("this FishLeg instance was built for another model");
        prepareStep();
        queue(m, x, y, lossOut, auxAt(step));
        stepQueued();
    }

    /**
     * Every step is replayable: its backend work depends only on the batch size (dense or low-rank path)
     * and on whether it updates lambda. The auxiliary batch is gathered by {@link #prepareStep} outside
     * the captured work, and the auxiliary Adam step reads its step count from the device. The learning
     * rate is part of the key: a schedule that changes it makes new work.
     */
    @Override
    public Object replayKey(int batch) {
        if (qInitPending) return null; // the first step of --q-init kfac factorises on the host
        return java.util.List.of(batch, lowRankApplies(batch), auxAt(step), lr);
    }

    /** Gathers the auxiliary batch when the next step updates lambda (host indices: not capturable). */
    @Override
    public void prepareStep() {
        if (auxAt(step)) aux.next(xAux);
    }

    @Override
    public void enqueueStep(Mlp m, Tensor x, Tensor y, Tensor lossOut) {
        if (qInitPending) throw new IllegalStateException("FishLeg's first step with --q-init kfac factorises on the host: not capturable");
        queue(m, x, y, lossOut, auxAt(step));
    }

    @Override
    public void stepQueued() {
        if (auxAt(step)) auxSteps++;
        step++;
    }

    private void queue(Mlp m, Tensor x, Tensor y, Tensor lossOut, boolean auxNow) {
        if (m != model) throw new IllegalArgumentException("this FishLeg instance was built for another model");
        boolean started = qInitPending;
        if (started) initFactorsFromBatch(x, y, lossOut);
        Tensor g = model.grads();
        boolean lowRank = lowRankApplies(x.rows());
        // the start's pass left this batch's loss and gradient in lossOut and g; its sampled errors replaced the work
        // buffers' errors, which only the low-rank path reads
        if (!started || lowRank) model.lossAndGradient(x, y, lossOut, g);
        if (!cfg.decoupledWeightDecay && cfg.weightDecay != 0f) b.axpy(cfg.weightDecay, model.params(), g);
        if (gbar != null) b.axpby(1f - cfg.beta, g, cfg.beta, gbar);

        if (lowRank) {
            KroneckerBlocks.Batch f = q.batch(x.rows());
            if (auxNow) {
                // the auxiliary Fisher product may reuse the model's work buffers: keep A and Delta
                f.capture(x);
                b.sumSquares(g, scalar);
                f.factors(null);        // AP, Delta S with the current lambda
                applyQLowRank(f, qg, g); // Q g (dense result from factors)
                b.scaleByScalar(qg, scalar, -0.5f, 1f, z);   // z = Q u
                b.scaleByScalar(g, scalar, -0.5f, 1f, u);    // u = g / ||g||
                auxFromZ(false);
                preconditionD();
                lowRankLambdaGradient(f, scalar);
                finishAuxUpdate();
                f.factors(null);
            } else {
                f.factors(x);           // straight from the model's work buffers, no copies
            }
            applyQLowRank(f, qg, g);
        } else {
            if (auxNow) {
                Tensor src = cfg.auxDirection == FishLegConfig.AuxDirection.MOMENTUM_GRADIENT ? gbar : g;
                b.sumSquares(src, scalar);
                b.scaleByScalar(src, scalar, -0.5f, 1f, u);
                auxUpdateDense(false);
            }
            applyQ(cfg.ordering == FishLegConfig.Ordering.MOMENTUM_ON_GRADIENT ? gbar : g, qg);
        }

        if (cfg.maxStepNorm > 0f) clipStep(qg);

        // decoupled decay: theta -= eta (step + wd theta) with theta BEFORE the update (fishleg-algorithm.md
        // section 4); scaling after the update would add eta^2 wd times the step
        if (cfg.decoupledWeightDecay && cfg.weightDecay != 0f) b.scale(1f - lr * cfg.weightDecay, model.params());
        if (cfg.ordering == FishLegConfig.Ordering.MOMENTUM_ON_GRADIENT) {
            b.axpy(-lr, qg, model.params());
        } else {
            // mom = beta mom + (1 - beta) Q g; theta -= lr mom: one fused pass (the EMA form of momentumStep)
            b.momentumStep(model.params(), qg, mom, lr, cfg.beta, cfg.beta, 0f, false);
        }
        model.projectParams();
    }

    /**
     * v *= min(1, maxStepNorm / ||v||), all on the device (sumSquares, scaleByScalar, clamp on 1x1
     * scalars): no host read. A zero v stays zero.
     */
    private void clipStep(Tensor v) {
        b.sumSquares(v, clipScale);
        b.scaleByScalar(model.one(), clipScale, -0.5f, cfg.maxStepNorm, clipScale); // maxStepNorm / ||v||
        b.clamp(clipScale, 0f, 1f);
        b.scaleByScalar(v, clipScale, 1f, 1f, v);
    }

    // ------------------------------------------------------------------ Q and the auxiliary loss (dense form)

    /**
     * out = Q(lambda) in for flat vectors (out must not alias in).
     * @param in a parameter-shaped vector
     * @param out receives Q(lambda) in
     */
    public void applyQ(Tensor in, Tensor out) {
        q.applyDense(in, out);
        if (sigmaLam != null) {
            b.scalarMulAdd(1f, sigmaLam, sigmaLam, 0f, scalar2);
            b.scalarMulAdd(1f, scalar2, model.sigmaElement(in), 0f, model.sigmaElement(out));
        }
    }

    /**
     * Computes fz = (F + gamma I) z on the auxiliary batch, then d = fz - u (in fz); samples the next
     * auxiliary batch first when {@code fetch} (training steps gather it in {@link #prepareStep}).
     */
    private void auxFromZ(boolean fetch) {
        if (fetch) aux.next(xAux);
        fvp.apply(model, xAux, z, cfg.damping, fz);
        b.axpy(-1f, u, fz); // fz now holds d
    }

    /**
     * The auxiliary loss A = 1/2 z^T (F + gamma I) z - u^T z at the current lambda for a given u and
     * auxiliary inputs (for tests and diagnostics; uses the configured Fisher product). Reads two
     * scalars to the host.
     * @param xA auxiliary inputs
     * @param uIn the direction u
     * @return the auxiliary loss A
     */
    public double auxiliaryLoss(Tensor xA, Tensor uIn) {
        applyQ(uIn, z);
        fvp.apply(model, xA, z, cfg.damping, fz);
        b.dot(z, fz, scalar);
        double quad = b.readScalar(scalar);
        b.dot(uIn, z, scalar);
        return 0.5 * quad - b.readScalar(scalar);
    }

    /**
     * Computes grad_lambda A for the given u and auxiliary inputs into {@link #lambdaGradient()} (dense
     * closed forms), without updating lambda; with {@link FishLegConfig#preconditionAux}, the gradient of
     * the surrogate (Q d)^T Q(lambda) u instead.
     */
    void auxiliaryGradient(Tensor xA, Tensor uIn) {
        b.copy(uIn, u);
        applyQ(u, z);
        fvp.apply(model, xA, z, cfg.damping, fz);
        b.axpy(-1f, u, fz);
        preconditionD();
        denseLambdaGradient();
    }

    /**
     * One auxiliary update only (lambda, not theta) for a given direction u (normalised by the caller or
     * not) on the next auxiliary batch: the building block of auxiliary-only training on a frozen network.
     * @param uIn the direction u
     */
    public void auxiliaryStep(Tensor uIn) {
        b.copy(uIn, u);
        auxUpdateDense(true);
        auxSteps++;
    }

    private void auxUpdateDense(boolean fetch) {
        applyQ(u, z);
        auxFromZ(fetch);
        preconditionD();
        denseLambdaGradient();
        finishAuxUpdate();
    }

    /**
     * With {@link FishLegConfig#preconditionAux}: d (in fz) becomes Q d, so the closed forms below give the
     * gradient of the surrogate (Q d)^T Q(lambda) u. Uses qg as scratch: it is free between the auxiliary
     * update and the Q g of the step.
     */
    private void preconditionD() {
        if (!cfg.preconditionAux) return;
        applyQ(fz, qg);
        b.copy(qg, fz);
    }

    /** grad_L = L (X + X^T), X = U S D^T; grad_R = R (Y + Y^T), Y = D^T P U; sigma: 2 lambda u d. (d in fz.) */
    private void denseLambdaGradient() {
        for (int l = 0; l < layers; l++) {
            Tensor ub = model.block(u, l), db = model.block(fz, l);
            int n1 = ub.rows(), n2 = ub.cols();
            Tensor tmp = q.scratch(l);
            Tensor x = scratchSq1.view(0, n1, n1);
            b.gemm(false, false, 1f, ub, S[l], 0f, tmp);      // U S
            b.gemm(false, true, 1f, tmp, db, 0f, x);          // X = U S D^T
            b.gemm(false, false, 1f, L[l], x, 0f, gL[l]);
            b.gemm(false, true, 1f, L[l], x, 1f, gL[l]);
            Tensor y = scratchSq2.view(0, n2, n2);
            b.gemm(false, false, 1f, P[l], ub, 0f, tmp);      // P U
            b.gemm(true, false, 1f, db, tmp, 0f, y);          // Y = D^T P U
            b.gemm(false, false, 1f, R[l], y, 0f, gR[l]);
            b.gemm(false, true, 1f, R[l], y, 1f, gR[l]);
        }
        sigmaLambdaGradient();
    }

    private void sigmaLambdaGradient() {
        if (sigmaLam == null) return;
        // A_sigma = 1/2 d_s... : dA/dlambda = d_sigma * dz_sigma/dlambda = d_sigma * 2 lambda u_sigma
        b.scalarMulAdd(2f, model.sigmaElement(fz), model.sigmaElement(u), 0f, scalar2);
        b.scalarMulAdd(1f, scalar2, sigmaLam, 0f, sigmaGrad);
    }

    /** Triangular masks, one Adam step on lambda, refresh of P and S. */
    private void finishAuxUpdate() {
        if (cfg.factor == FishLegConfig.Factor.TRIANGULAR) {
            for (int l = 0; l < layers; l++) {
                b.triangularMask(gL[l], true);
                b.triangularMask(gR[l], false);
            }
        }
        b.scalarMulAdd(1f, model.one(), model.one(), 1f, auxCount); // auxiliary step count + 1, on the device
        b.adamStepAt(lambda, lamGrad, lamM, lamV, cfg.auxLr, cfg.auxBeta1, cfg.auxBeta2, cfg.auxEps,
                cfg.auxWeightDecay, 0f, auxCount);
        refreshPS();
    }

    // ------------------------------------------------------------------ low-rank path

    /** out = Q g from the batch-gradient factors (A P)^T (Delta S) per layer; the sigma block from the dense g. */
    private void applyQLowRank(KroneckerBlocks.Batch f, Tensor out, Tensor g) {
        f.apply(out);
        if (sigmaLam != null) {
            b.scalarMulAdd(1f, sigmaLam, sigmaLam, 0f, scalar2);
            b.scalarMulAdd(1f, scalar2, model.sigmaElement(g), 0f, model.sigmaElement(out));
        }
    }

    /**
     * Lambda gradient with u = G / ||G||, c = ||G||^-1 from sumSq (device scalar), d in fz:
     * grad_L = c [(L A^T) W + (L W^T) A], W = (Delta S) D^T; grad_R = c [(R V^T) Delta + (R Delta^T) V], V = (A P) D.
     */
    private void lowRankLambdaGradient(KroneckerBlocks.Batch f, Tensor sumSq) {
        int batch = f.size;
        for (int l = 0; l < layers; l++) {
            Tensor db = model.block(fz, l);
            int n1 = db.rows(), n2 = db.cols();
            Tensor a = f.a(l), delta = f.delta(l);
            Tensor w = f.work(0).view(0, batch, n1);
            Tensor lat = f.work(2).view(0, n1, batch);
            Tensor lwt = f.work(3).view(0, n1, batch);
            b.gemm(false, true, 1f, f.ds(l), db, 0f, w);         // W = (Delta S) D^T     B x n1
            b.scaleByScalar(w, sumSq, -0.5f, 1f, w);             // * c
            b.gemm(false, true, 1f, L[l], a, 0f, lat);           // L A^T               n1 x B
            b.gemm(false, true, 1f, L[l], w, 0f, lwt);           // L W^T               n1 x B
            b.gemm(false, false, 1f, lat, w, 0f, gL[l]);
            b.gemm(false, false, 1f, lwt, a, 1f, gL[l]);
            Tensor v = f.work(1).view(0, batch, n2);
            Tensor rvt = f.work(2).view(0, n2, batch);
            Tensor rdt = f.work(3).view(0, n2, batch);
            b.gemm(false, false, 1f, f.ap(l), db, 0f, v);        // V = (A P) D          B x n2
            b.scaleByScalar(v, sumSq, -0.5f, 1f, v);             // * c
            b.gemm(false, true, 1f, R[l], v, 0f, rvt);           // R V^T               n2 x B
            b.gemm(false, true, 1f, R[l], delta, 0f, rdt);       // R Delta^T           n2 x B
            b.gemm(false, false, 1f, rvt, delta, 0f, gR[l]);
            b.gemm(false, false, 1f, rdt, v, 1f, gR[l]);
        }
        sigmaLambdaGradient();
    }

    // ------------------------------------------------------------------ FLOPs

    /**
     * Floating-point operations of one step at batch size B (multiply-add = 2): forward + backward
     * (about 6 B weights), Q applied to the gradient (dense: 2 (n1^2 n2 + n1 n2^2) per layer; low-rank:
     * 2 B (n1^2 + n2^2 + n1 n2)), and the auxiliary update amortised over its period (its Fisher-vector
     * product at the auxiliary batch, Q u, the lambda gradients, P/S refresh).
     */
    @Override
    public double flopsPerStep(int batch) {
        double fwdBwd = 0, qDense = 0, qLow = 0, gradDense = 0, gradLow = 0, refresh = 0;
        for (int l = 0; l < layers; l++) {
            MlpSpec.LayerSpec s = model.layer(l);
            double n1 = s.blockRows(), n2 = s.out;
            fwdBwd += 6 * batch * n1 * n2;
            qDense += 2 * (n1 * n1 * n2 + n1 * n2 * n2);
            qLow += 2 * batch * (n1 * n1 + n2 * n2 + n1 * n2);
            gradDense += 4 * (n1 * n2 * n2 + n1 * n1 * n2 + n1 * n1 * n1 + n2 * n2 * n2);
            gradLow += 2 * batch * (4 * n1 * n1 + 4 * n2 * n2 + 2 * n1 * n2);
            refresh += 2 * (n1 * n1 * n1 + n2 * n2 * n2);
        }
        double fvpAux = 0;
        for (int l = 0; l < layers; l++) {
            MlpSpec.LayerSpec s = model.layer(l);
            fvpAux += 8 * cfg.auxBatchSize * (double) s.blockRows() * s.out; // forward, R-forward (2 gemms), backward (2 gemms)
        }
        boolean low = lowRankApplies(batch);
        double perStep = fwdBwd + (low ? qLow : qDense);
        double auxCost = fvpAux + (low ? qLow + gradLow : qDense + gradDense) + refresh + (low ? qLow : 0);
        if (cfg.preconditionAux) auxCost += qDense;
        return perStep + (cfg.auxLr > 0 ? auxCost / cfg.auxEvery : 0);
    }

    // ------------------------------------------------------------------ state

    @Override
    public OptimizerState state() {
        OptimizerState s = new OptimizerState(name());
        s.put("step", step).put("aux_steps", auxSteps);
        s.put("lambda", b.download(lambda)).put("lambda_m", b.download(lamM)).put("lambda_v", b.download(lamV));
        if (gbar != null) s.put("gbar", b.download(gbar));
        if (mom != null) s.put("momentum", b.download(mom));
        if (qInitPending && qInitStats != null && step > 0) s.put("q_init_stats", b.download(qInitStats));
        return s;
    }

    @Override
    public void loadState(OptimizerState s) {
        if (!name().equals(s.optimizer()))
            throw new IllegalArgumentException("checkpoint holds " + s.optimizer() + " state, not fishleg");
        float[] lam = s.array("lambda");
        if (lam.length != lambda.size())
            throw new IllegalArgumentException("checkpoint FishLeg factors have " + lam.length + " values, this model needs " + lambda.size());
        for (String k : s.arrays().keySet())
            if (!k.equals("lambda") && !k.equals("lambda_m") && !k.equals("lambda_v") && !(k.equals("gbar") && gbar != null)
                    && !(k.equals("momentum") && mom != null) && !(k.equals("q_init_stats") && qInitStats != null))
                throw new IllegalArgumentException("checkpoint FishLeg state array '" + k + "' is not part of this optimizer's state");
        checkLength(s, "lambda_m", lambda.size());
        checkLength(s, "lambda_v", lambda.size());
        if (gbar != null) checkLength(s, "gbar", gbar.size());
        if (mom != null) checkLength(s, "momentum", mom.size());
        double st = s.number("step"), aux = s.number("aux_steps");
        if (!(st >= 0 && st == Math.rint(st)) || !(aux >= 0 && aux == Math.rint(aux)))
            throw new IllegalArgumentException("checkpoint FishLeg step counts " + st + ", " + aux + " are not counts");
        b.upload(lam, lambda);
        b.upload(s.array("lambda_m"), lamM);
        b.upload(s.array("lambda_v"), lamV);
        if (gbar != null) b.upload(s.array("gbar"), gbar);
        if (mom != null) b.upload(s.array("momentum"), mom);
        step = (long) s.number("step");
        auxSteps = (long) s.number("aux_steps");
        b.upload(new float[] {auxSteps}, auxCount);
        refreshPS();
        // a checkpoint past step qInitSteps - 1 holds the initialised factors; one before it also the running means
        qInitPending = cfg.qInit == FishLegConfig.QInit.KFAC && step < cfg.qInitSteps;
        if (qInitPending && step > 0) {
            if (!s.arrays().containsKey("q_init_stats"))
                throw new IllegalArgumentException("checkpoint FishLeg state at step " + step + " lacks the running-mean factors of "
                        + "--q-init kfac with --q-init-steps " + cfg.qInitSteps + " (was it written with other FishLeg settings?)");
            checkLength(s, "q_init_stats", qInitStats.size());
            b.upload(s.array("q_init_stats"), qInitStats);
        }
    }

    private static void checkLength(OptimizerState s, String key, int n) {
        int len = s.array(key).length;
        if (len != n) throw new IllegalArgumentException("checkpoint FishLeg state '" + key + "' has " + len + " values, this model needs " + n);
    }

    @Override
    public void close() {
        q.close();
        for (Tensor t : owned) t.close();
        owned.clear();
    }
}
