package org.fishleg.optim;

import java.util.Locale;
import org.fishleg.nn.Mlp;
import org.fishleg.optim.fishleg.AuxBatchSource;

/**
 * Builds {@link Adam} or {@link AdamW}: {@code Adam.builder().lr(1e-3f).betas(0.9f, 0.999f).build()}. Starts from
 * the library defaults, PyTorch's ({@code torch.optim.Adam}/{@code AdamW}): lr 1e-3, betas (0.9, 0.999), eps 1e-8,
 * weight decay 0 (Adam) or 1e-2 (AdamW). The FishLeg papers' baseline values (lr 1e-4, betas (0.9, 0.9), eps 1e-4)
 * are a named recipe: {@link Recipes#adam(String)}. Values are checked when the optimizer is created.
 */
public final class AdamBuilder implements OptimizerFactory {
    private final boolean decoupled;
    private float lr = Adam.DEFAULT_LR, beta1 = Adam.DEFAULT_BETA1, beta2 = Adam.DEFAULT_BETA2, eps = Adam.DEFAULT_EPS;
    private float weightDecay;

    AdamBuilder(boolean decoupled) {
        this.decoupled = decoupled;
        this.weightDecay = decoupled ? AdamW.DEFAULT_WEIGHT_DECAY : 0f;
    }

    private AdamBuilder copy() {
        AdamBuilder b = new AdamBuilder(decoupled);
        b.lr = lr; b.beta1 = beta1; b.beta2 = beta2; b.eps = eps; b.weightDecay = weightDecay;
        return b;
    }

    /**
     * Sets the learning rate (default 1e-3).
     * @param v the learning rate
     * @return this builder
     */
    public AdamBuilder lr(float v) { lr = v; return this; }
    /**
     * Sets the moment decay rates (default 0.9, 0.999).
     * @param b1 the first-moment decay rate
     * @param b2 the second-moment decay rate
     * @return this builder
     */
    public AdamBuilder betas(float b1, float b2) { beta1 = b1; beta2 = b2; return this; }
    /**
     * Sets epsilon (default 1e-8).
     * @param v epsilon
     * @return this builder
     */
    public AdamBuilder eps(float v) { eps = v; return this; }
    /**
     * Sets the weight decay: L2 in the gradient for Adam (default 0), decoupled for AdamW (default 1e-2).
     * @param v the weight decay coefficient
     * @return this builder
     */
    public AdamBuilder weightDecay(float v) { weightDecay = v; return this; }

    /**
     * The learning rate set so far.
     * @return the learning rate
     */
    public float lr() { return lr; }
    /**
     * beta1 set so far.
     * @return beta1
     */
    public float beta1() { return beta1; }
    /**
     * beta2 set so far.
     * @return beta2
     */
    public float beta2() { return beta2; }
    /**
     * Epsilon set so far.
     * @return epsilon
     */
    public float eps() { return eps; }
    /**
     * Weight decay set so far.
     * @return the weight decay
     */
    public float weightDecay() { return weightDecay; }

    /**
     * An immutable copy of these settings (later setter calls on this builder do not change it).
     * @return a factory that builds Adam (or AdamW) with these settings for a model
     */
    public OptimizerFactory build() { return copy(); }

    @Override public String name() { return decoupled ? "adamw" : "adam"; }

    @Override
    public Optimizer create(Mlp model, AuxBatchSource aux) {
        return decoupled ? new AdamW(model, lr, beta1, beta2, eps, weightDecay) : new Adam(model, lr, beta1, beta2, eps, weightDecay);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s(lr=%g, betas=(%g, %g), eps=%g, weight_decay=%g)", name(), lr, beta1, beta2, eps, weightDecay);
    }
}
