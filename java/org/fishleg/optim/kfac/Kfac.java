package org.fishleg.optim.kfac;

import java.util.ArrayList;
import java.util.List;
import org.fishleg.backend.Backend;
import org.fishleg.backend.BackendException;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Mlp;
import org.fishleg.nn.MlpSpec;
import org.fishleg.optim.CurvatureException;
import org.fishleg.optim.FlopCounter;
import org.fishleg.optim.Optimizer;
import org.fishleg.optim.OptimizerState;
import org.fishleg.optim.kron.KroneckerBlocks;

/**
 * KFAC for dense layers (Martens and Grosse 2015) in the form the KFAC/K-BFGS auto-encoder benchmark runs
 * it. Per layer l, with A_l = [1, h_{l-1}] (B x n1) and Delta_l the back-propagated errors (B x n2, of
 * the mean loss, so scaled by 1/B):
 * <pre>
 *   Abar_l = decay_i Abar_l + (1 - decay_i) A_l^T A_l / B
 *   Gbar_l = decay_i Gbar_l + (1 - decay_i) B Delta_l^T Delta_l      (Delta from sampled targets: the Fisher)
 *   (with the warm-up, the default: step i uses decay_i = min(1 - 1/(i + 1), decay), so the first averages are
 *    plain means; without it step 0 uses 0 and later steps decay)
 *   at steps 0..T (with the warm-up; else step 0) and every T steps after: Ainv_l = (Abar_l + pi_l sqrt(gamma) I)^-1,  Ginv_l = (Gbar_l + sqrt(gamma) / pi_l I)^-1
 *      with pi_l = 1 (the benchmark code, {@link KfacConfig.DampingSplit#NONE}, the default) or
 *      pi_l = sqrt((tr Abar_l / n1) / (tr Gbar_l / n2)) (Martens and Grosse's split, {@link KfacConfig.DampingSplit#PI})
 *   g = grad + wd theta;  gbar = mu gbar + (1 - mu) g;  theta_l -= lr Ainv_l gbar_l Ginv_l
 * </pre>
 * The inverses are
 * applied by {@code optim.kron.KroneckerBlocks} (internal), the block code FishLeg uses for its Q; they are computed by
 * {@link Backend#spdInverse} (double precision on the host), so an inverting step waits for the device
 * and is never captured in a graph; the other steps are. A learned Gaussian sigma, when the model has
 * one, is preconditioned by its exact scalar Fisher (2 D / sigma^2 for D Gaussian outputs; 2 D for a
 * log-sigma parameter): a plain gradient step on sigma, at a learning rate meant for natural-gradient
 * steps, throws sigma against its bounds and diverges the deep linear network.
 */
public final class Kfac implements Optimizer, FlopCounter, org.fishleg.optim.LearningRateAdjustable {
    private final Mlp model;
    private final Backend b;
    private final KfacConfig cfg;
    private final int layers;
    private final Tensor stats, inverses, gbar, dir, scalar;
    private final Tensor[] aBar, gBar, aInv, gInv;
    private final KroneckerBlocks blocks;
    private final List<Tensor> owned = new ArrayList<>();
    private long step;
    /** The damping split pi_l of the last inversion, per layer (diagnostics). */
    private final double[] pi;

    /**
     * KFAC for {@code model} (its backend holds all state; close to free it).
     * @param model the model whose parameters are updated
     * @param cfg the hyper-parameters
     */
    public Kfac(Mlp model, KfacConfig cfg) {
        this.model = model;
        this.b = model.backend();
        this.cfg = cfg;
        this.lr = cfg.lr;
        this.layers = model.layerCount();
        long size = 0;
        for (int l = 0; l < layers; l++) {
            MlpSpec.LayerSpec s = model.layer(l);
            size += (long) s.blockRows() * s.blockRows() + (long) s.out * s.out;
        }
        if (size > Integer.MAX_VALUE) throw new IllegalArgumentException("KFAC factors too large: " + size);
        stats = own(1, (int) size);
        inverses = own(1, (int) size);
        gbar = own(1, model.paramCount());
        dir = own(1, model.paramCount());
        scalar = own(1, 1);
        aBar = new Tensor[layers]; gBar = new Tensor[layers]; aInv = new Tensor[layers]; gInv = new Tensor[layers];
        long off = 0;
        for (int l = 0; l < layers; l++) {
            int n1 = model.layer(l).blockRows(), n2 = model.layer(l).out;
            aBar[l] = stats.view(off, n1, n1); aInv[l] = inverses.view(off, n1, n1);
            off += (long) n1 * n1;
            gBar[l] = stats.view(off, n2, n2); gInv[l] = inverses.view(off, n2, n2);
            off += (long) n2 * n2;
        }
        pi = new double[layers];
        blocks = new KroneckerBlocks(model, aInv, gInv);
    }

    /**
     * Settings for {@code Model.fit}: {@code Kfac.builder().lr(0.1f).build()} (defaults {@link KfacConfig#defaults()}).
     * @return a builder with the default configuration
     */
    public static KfacBuilder builder() { return new KfacBuilder(); }

    private Tensor own(int r, int c) {
        Tensor t = b.zeros(r, c);
        owned.add(t);
        return t;
    }

    /**
     * The hyper-parameters.
     * @return the configuration
     */
    public KfacConfig config() { return cfg; }

    @Override
    public String name() { return "kfac"; }

    @Override
    public String describe() { return "kfac " + cfg; }

    @Override
    public long stepCount() { return step; }

    /** The learning rate of the next step: {@link KfacConfig#lr} unless a schedule changed it. */
    private float lr;

    @Override
    public float learningRate() { return lr; }

    @Override
    public void setLearningRate(float lr) { this.lr = org.fishleg.optim.LearningRateAdjustable.checked(lr); }

    /** Layer l's averaged activation factor Abar (live view, n1 x n1). */
    Tensor factorA(int l) { return aBar[l]; }

    /** Layer l's averaged error factor Gbar (live view, n2 x n2). */
    Tensor factorG(int l) { return gBar[l]; }

    /** Layer l's damped inverse (Abar + pi sqrt(gamma) I)^-1 of the last inversion (live view). */
    Tensor inverseA(int l) { return aInv[l]; }

    /** Layer l's damped inverse (Gbar + sqrt(gamma) / pi I)^-1 of the last inversion (live view). */
    Tensor inverseG(int l) { return gInv[l]; }

    /**
     * The damping split pi_l used by the last inversion.
     * @param l a layer index
     * @return the damping split of that layer
     */
    public double pi(int l) { return pi[l]; }

    private boolean invertsAt(long s) {
        return cfg.warmup ? KroneckerBlocks.warmupInvertsAt(s, cfg.inverseEvery) : s % cfg.inverseEvery == 0;
    }

    /** The factors' moving-average decay at step s: min(1 - 1/(s + 1), statDecay) with the warm-up. */
    private float decayAt(long s) {
        return cfg.warmup ? KroneckerBlocks.warmupDecay(s, cfg.statDecay) : s == 0 ? 0f : cfg.statDecay;
    }

    /**
     * Whether step s must run eagerly: it inverts the factors on the host, or its decay is still the warm-up's
     * running-mean value below statDecay (past step T when statDecay is above 1 - 1/(T + 1)), which changes from
     * step to step where a replayed graph would keep the captured one.
     */
    private boolean eagerAt(long s) { return invertsAt(s) || (cfg.warmup && decayAt(s) != cfg.statDecay); }

    @Override
    public void step(Mlp m, Tensor x, Tensor y, Tensor lossOut) {
        queue(m, x, y, lossOut);
        step++;
    }

    /**
     * Steps that invert the factors read them on the host and are not replayable (null), nor are warm-up steps whose
     * decay is still below statDecay; the others are, per batch size and learning rate.
     */
    @Override
    public Object replayKey(int batch) { return eagerAt(step) ? null : List.of(batch, lr); }

    @Override
    public void enqueueStep(Mlp m, Tensor x, Tensor y, Tensor lossOut) {
        if (eagerAt(step)) throw new IllegalStateException("KFAC step " + step + " inverts its factors on the host or changes its decay: not capturable");
        queue(m, x, y, lossOut);
    }

    @Override
    public void stepQueued() { step++; }

    private void queue(Mlp m, Tensor x, Tensor y, Tensor lossOut) {
        if (m != model) throw new IllegalArgumentException("this KFAC instance was built for another model");
        int batch = x.rows();
        Tensor g = model.grads();
        model.lossAndGradient(x, y, lossOut, g);
        updateStatistics(x, decayAt(step));
        if (cfg.weightDecay != 0f) b.axpy(cfg.weightDecay, model.params(), g);
        b.axpby(1f - cfg.momentum, g, cfg.momentum, gbar);
        if (invertsAt(step)) invert();
        blocks.applyDense(gbar, dir);
        if (model.hasSigmaParam()) {
            // sigma's own (scalar, exact) Fisher: 2 D / sigma^2 per example for D Gaussian outputs, 2 D for s = log sigma
            float inv2d = 0.5f / model.spec().outputSize();
            b.scaleByScalar(model.sigmaElement(gbar), model.sigma(), model.likelihood().logSigma ? 0f : 2f, inv2d, model.sigmaElement(dir));
        }
        b.axpy(-lr, dir, model.params());
        model.projectParams();
    }

    /**
     * Abar = decay Abar + (1 - decay) A^T A / B and Gbar = decay Gbar + (1 - decay) B Delta^T Delta from the
     * last forward/backward pass on x (one GEMM each, the decay in its beta).
     */
    private void updateStatistics(Tensor x, float decay) {
        int batch = x.rows();
        KroneckerBlocks.Batch f = blocks.batch(batch);
        f.captureInputs(x);
        Mlp.Workspace ws = model.workspace(batch);
        if (cfg.curvature == KfacConfig.Curvature.SAMPLED) model.sampledErrors(ws);
        for (int l = 0; l < layers; l++) {
            b.gemm(true, false, (1f - decay) / batch, f.a(l), f.a(l), decay, aBar[l]);
            b.gemm(true, false, (1f - decay) * batch, ws.d[l], ws.d[l], decay, gBar[l]);
        }
    }

    /**
     * Damped inverses of the current factors, with the factored Tikhonov split pi_l (traces read on the
     * host). Factors that hold a non-finite value (the training has diverged: the trainer stops on the
     * non-finite loss of this step) keep their previous inverses instead of failing here.
     *
     * <p>pi_l = sqrt((tr Abar / dim A) / (tr Gbar / dim G)) is not clamped: its job is to put each
     * factor's share of the damping on that factor's scale, which can move by many orders of magnitude
     * (a learned Gaussian sigma scales G by 1/sigma^2). Each shift is floored at
     * {@value #RELATIVE_SHIFT_FLOOR} of its factor's mean diagonal: the factors are float32 sums, accurate
     * to about 1e-7 of their scale, so a smaller shift cannot make a rounded, rank-deficient factor
     * positive definite. Where even that fails the floor grows tenfold, up to three times, before the
     * step fails with a {@link CurvatureException} that names the layer (the trainer reports it as divergence).
     */
    private void invert() {
        double sqrtGamma = Math.sqrt(cfg.damping);
        for (int l = 0; l < layers; l++) {
            double ta = trace(aBar[l]) / aBar[l].rows(), tg = trace(gBar[l]) / gBar[l].rows();
            if (!Double.isFinite(ta) || !Double.isFinite(tg) || !finite(aBar[l]) || !finite(gBar[l])) continue;
            double p = cfg.dampingSplit == KfacConfig.DampingSplit.PI && ta > 0 && tg > 0 ? Math.sqrt(ta / tg) : 1.0;
            pi[l] = p;
            invertShifted(l, "A", aBar[l], p * sqrtGamma, ta, aInv[l]);
            invertShifted(l, "G", gBar[l], sqrtGamma / p, tg, gInv[l]);
        }
    }

    /** Relative floor of a factor's damping shift (see {@link #invert}). */
    static final double RELATIVE_SHIFT_FLOOR = 1e-6;

    private void invertShifted(int l, String which, Tensor factor, double shift, double meanDiag, Tensor out) {
        double floor = RELATIVE_SHIFT_FLOOR * Math.max(meanDiag, 0);
        for (int attempt = 0; ; attempt++) {
            double s = Math.max(shift, floor);
            try {
                b.spdInverse(factor, (float) s, out);
                return;
            } catch (BackendException e) {
                if (attempt == 3 || floor == 0) {
                    throw new CurvatureException("KFAC: the " + which + " factor of layer " + l + " (" + factor.rows() + "x" + factor.cols()
                            + ", mean diagonal " + meanDiag + ") cannot be inverted with damping shift " + s
                            + "; a larger --kfac-damping or a smaller --lr may help (" + e.getMessage() + ")", e);
                }
                floor *= 10;
            }
        }
    }

    private boolean finite(Tensor t) {
        b.countNonFinite(t, scalar);
        return b.readScalar(scalar) == 0f;
    }

    private double trace(Tensor t) {
        float[] h = b.download(t);
        int n = t.rows();
        double s = 0;
        for (int i = 0; i < n; i++) s += h[i * n + i];
        return s;
    }

    // ------------------------------------------------------------------ FLOPs

    /**
     * Operations of one step at batch size B: forward + backward (6 B n1 n2 per layer), the sampled
     * errors' backward (2 B n1 n2), the factor statistics (2 B (n1^2 + n2^2)), the dense preconditioning
     * (2 (n1^2 n2 + n1 n2^2)) and the inversions amortised over their period (about n^3 each, on the host).
     */
    @Override
    public double flopsPerStep(int batch) {
        double s = 0, inv = 0;
        for (int l = 0; l < layers; l++) {
            double n1 = model.layer(l).blockRows(), n2 = model.layer(l).out;
            s += 6 * batch * n1 * n2 + (cfg.curvature == KfacConfig.Curvature.SAMPLED ? 2 * batch * n1 * n2 : 0)
                    + 2 * batch * (n1 * n1 + n2 * n2) + 2 * (n1 * n1 * n2 + n1 * n2 * n2);
            inv += n1 * n1 * n1 + n2 * n2 * n2;
        }
        return s + inv / cfg.inverseEvery;
    }

    // ------------------------------------------------------------------ state

    @Override
    public OptimizerState state() {
        OptimizerState s = new OptimizerState(name());
        s.put("step", step);
        s.put("factors", b.download(stats)).put("inverses", b.download(inverses)).put("gbar", b.download(gbar));
        return s;
    }

    @Override
    public void loadState(OptimizerState s) {
        if (!name().equals(s.optimizer()))
            throw new IllegalArgumentException("checkpoint holds " + s.optimizer() + " state, not kfac");
        for (String k : s.arrays().keySet())
            if (!k.equals("factors") && !k.equals("inverses") && !k.equals("gbar"))
                throw new IllegalArgumentException("checkpoint KFAC state array '" + k + "' is not part of this optimizer's state");
        checkLength(s, "factors", stats.size());
        checkLength(s, "inverses", inverses.size());
        checkLength(s, "gbar", gbar.size());
        double st = s.number("step");
        if (!(st >= 0 && st == Math.rint(st))) throw new IllegalArgumentException("checkpoint KFAC step count " + st + " is not a count");
        b.upload(s.array("factors"), stats);
        b.upload(s.array("inverses"), inverses);
        b.upload(s.array("gbar"), gbar);
        step = (long) st;
    }

    private static void checkLength(OptimizerState s, String key, int n) {
        int len = s.array(key).length;
        if (len != n) throw new IllegalArgumentException("checkpoint KFAC state '" + key + "' has " + len + " values, this model needs " + n);
    }

    @Override
    public void close() {
        blocks.close();
        for (Tensor t : owned) t.close();
        owned.clear();
    }
}
