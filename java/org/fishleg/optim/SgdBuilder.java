package org.fishleg.optim;

import java.util.Locale;
import org.fishleg.nn.Mlp;
import org.fishleg.optim.fishleg.AuxBatchSource;

/**
 * Builds {@link Sgd} (momentum 0, the default of {@link Sgd#builder()}) or {@link SgdMomentum}
 * ({@link SgdMomentum#builder()}: momentum 0.9, EMA form). Defaults: lr {@value Sgd#DEFAULT_LR} for SGD,
 * {@value SgdMomentum#DEFAULT_LR} with momentum; no weight decay, no Nesterov.
 */
public final class SgdBuilder implements OptimizerFactory {
    private final boolean withMomentum;
    private float lr, momentum = SgdMomentum.DEFAULT_MOMENTUM, weightDecay;
    private SgdMomentum.Form form = SgdMomentum.Form.EMA;
    private boolean nesterov;

    SgdBuilder(boolean withMomentum) {
        this.withMomentum = withMomentum;
        this.lr = withMomentum ? SgdMomentum.DEFAULT_LR : Sgd.DEFAULT_LR;
    }

    /**
     * Sets the learning rate.
     * @param v the learning rate
     * @return this builder
     */
    public SgdBuilder lr(float v) { lr = v; return this; }
    /**
     * Sets the momentum coefficient (momentum only; default 0.9).
     * @param v the momentum coefficient
     * @return this builder
     */
    public SgdBuilder momentum(float v) { requireMomentum("momentum"); momentum = v; return this; }
    /**
     * Sets the momentum form (momentum only; default EMA, m = mu m + (1 - mu) g).
     * @param v the momentum form
     * @return this builder
     */
    public SgdBuilder form(SgdMomentum.Form v) { requireMomentum("form"); form = v; return this; }
    /**
     * Nesterov momentum (momentum only; default off).
     * @param v whether to use Nesterov momentum
     * @return this builder
     */
    public SgdBuilder nesterov(boolean v) { requireMomentum("nesterov"); nesterov = v; return this; }
    /**
     * Sets the L2 weight decay (default 0).
     * @param v the weight decay coefficient
     * @return this builder
     */
    public SgdBuilder weightDecay(float v) { weightDecay = v; return this; }

    private void requireMomentum(String what) {
        if (!withMomentum) throw new IllegalStateException(what + " applies to SgdMomentum.builder(), not Sgd.builder()");
    }

    /**
     * An immutable copy of these settings.
     * @return a factory that builds the optimizer with these settings for a model
     */
    public OptimizerFactory build() {
        SgdBuilder b = new SgdBuilder(withMomentum);
        b.lr = lr; b.momentum = momentum; b.weightDecay = weightDecay; b.form = form; b.nesterov = nesterov;
        return b;
    }

    @Override public String name() { return withMomentum ? "momentum" : "sgd"; }

    @Override
    public Optimizer create(Mlp model, AuxBatchSource aux) {
        return withMomentum ? new SgdMomentum(model, lr, momentum, form, nesterov, weightDecay) : new Sgd(model, lr, weightDecay);
    }

    @Override
    public String toString() {
        return withMomentum ? String.format(Locale.ROOT, "momentum(lr=%g, momentum=%g, form=%s, nesterov=%b, weight_decay=%g)",
                lr, momentum, form, nesterov, weightDecay) : String.format(Locale.ROOT, "sgd(lr=%g, weight_decay=%g)", lr, weightDecay);
    }
}
