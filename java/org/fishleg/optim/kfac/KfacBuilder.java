package org.fishleg.optim.kfac;

import org.fishleg.nn.Mlp;
import org.fishleg.optim.Optimizer;
import org.fishleg.optim.OptimizerFactory;
import org.fishleg.optim.fishleg.AuxBatchSource;

/**
 * Settings of a KFAC optimizer for {@code Model.fit} (and any {@link OptimizerFactory} user), starting from
 * {@link KfacConfig#defaults()}: {@code Kfac.builder().lr(1f).damping(3f).build()}.
 */
public final class KfacBuilder implements OptimizerFactory {
    private KfacConfig.Builder config = KfacConfig.defaults().toBuilder();

    KfacBuilder() {}

    /**
     * Starts from {@code c}.
     * @param c the configuration
     * @return this builder
     */
    public KfacBuilder config(KfacConfig c) { config = c.toBuilder(); return this; }
    /**
     * Learning rate.
     * @param v the learning rate
     * @return this builder
     */
    public KfacBuilder lr(float v) { config.lr(v); return this; }
    /**
     * Tikhonov damping gamma.
     * @param v the damping gamma
     * @return this builder
     */
    public KfacBuilder damping(float v) { config.damping(v); return this; }
    /**
     * How the damping is shared between the factors ({@link KfacConfig.DampingSplit}).
     * @param v the split
     * @return this builder
     */
    public KfacBuilder dampingSplit(KfacConfig.DampingSplit v) { config.dampingSplit(v); return this; }
    /**
     * Whether the benchmark code's warm-up is used ({@link KfacConfig#warmup}).
     * @param v true for the warm-up
     * @return this builder
     */
    public KfacBuilder warmup(boolean v) { config.warmup(v); return this; }
    /**
     * Moving-average decay of the factors.
     * @param v the decay rate
     * @return this builder
     */
    public KfacBuilder statDecay(float v) { config.statDecay(v); return this; }
    /**
     * Steps between factor inversions.
     * @param v the period in steps
     * @return this builder
     */
    public KfacBuilder inverseEvery(int v) { config.inverseEvery(v); return this; }
    /**
     * Gradient momentum (EMA coefficient).
     * @param v the momentum coefficient
     * @return this builder
     */
    public KfacBuilder momentum(float v) { config.momentum(v); return this; }
    /**
     * L2 weight decay.
     * @param v the weight decay coefficient
     * @return this builder
     */
    public KfacBuilder weightDecay(float v) { config.weightDecay(v); return this; }
    /**
     * Source of the G factor's errors.
     * @param v where the G factor's errors come from
     * @return this builder
     */
    public KfacBuilder curvature(KfacConfig.Curvature v) { config.curvature(v); return this; }

    /**
     * The configuration these settings give (checked: IllegalArgumentException on a bad value).
     * @return the configuration
     */
    public KfacConfig config() { return config.build(); }

    /**
     * An immutable copy of these settings, checked now.
     * @return a factory that builds KFAC with these settings for a model
     */
    public OptimizerFactory build() {
        KfacBuilder b = new KfacBuilder();
        b.config = config().toBuilder();
        return b;
    }

    @Override public String name() { return "kfac"; }

    /** A KFAC optimizer ({@code aux} is not used). */
    @Override
    public Optimizer create(Mlp model, AuxBatchSource aux) { return new Kfac(model, config()); }

    @Override
    public String toString() { return "kfac " + config(); }
}
