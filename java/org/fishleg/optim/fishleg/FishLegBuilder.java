package org.fishleg.optim.fishleg;

import org.fishleg.nn.Mlp;
import org.fishleg.optim.Optimizer;
import org.fishleg.optim.OptimizerFactory;

/**
 * Builds {@link FishLeg}: {@code FishLeg.builder().preset("mnist-ae").lr(0.02f).build()}. Starts from
 * {@link FishLegConfig#defaults()} (the authors' JAX MNIST settings) unless a preset or a whole config is given;
 * {@link org.fishleg.optim.Recipes#fishLeg(String)} starts from a model's default preset. The auxiliary batches are
 * supplied at {@link #create} time (by {@code org.fishleg.api.Model#fit}, from the training data).
 */
public final class FishLegBuilder implements OptimizerFactory {
    private FishLegConfig.Builder config = FishLegConfig.defaults().toBuilder();

    FishLegBuilder() {}

    /**
     * Starts over from a published or project preset ({@link FishLegConfig#presets()}).
     * @param name a preset name of {@link FishLegConfig#presets()}
     * @return this builder
     */
    public FishLegBuilder preset(String name) { config = FishLegConfig.preset(name).toBuilder(); return this; }
    /**
     * Starts over from a whole configuration.
     * @param c the configuration
     * @return this builder
     */
    public FishLegBuilder config(FishLegConfig c) { config = c.toBuilder(); return this; }
    /**
     * Sets the step size eta.
     * @param v the step size
     * @return this builder
     */
    public FishLegBuilder lr(float v) { config.lr(v); return this; }
    /**
     * Sets the momentum coefficient beta.
     * @param v the momentum coefficient, in [0, 1)
     * @return this builder
     */
    public FishLegBuilder momentum(float v) { config.beta(v); return this; }
    /**
     * Sets the weight decay (in the loss or decoupled, as the configuration says).
     * @param v the weight decay coefficient
     * @return this builder
     */
    public FishLegBuilder weightDecay(float v) { config.weightDecay(v); return this; }
    /**
     * Sets the damping gamma of (F + gamma I).
     * @param v the damping
     * @return this builder
     */
    public FishLegBuilder damping(float v) { config.damping(v); return this; }
    /**
     * Sets the auxiliary batch size.
     * @param v inputs per auxiliary batch
     * @return this builder
     */
    public FishLegBuilder auxBatchSize(int v) { config.auxBatchSize(v); return this; }
    /**
     * Sets the auxiliary update period in steps.
     * @param v the period in steps
     * @return this builder
     */
    public FishLegBuilder auxEvery(int v) { config.auxEvery(v); return this; }
    /**
     * Sets the learning rate of the auxiliary (Q factor) Adam step.
     * @param v the auxiliary learning rate
     * @return this builder
     */
    public FishLegBuilder auxLr(float v) { config.auxLr(v); return this; }

    /**
     * The configuration these settings give (checked: IllegalArgumentException on a bad value).
     * @return the configuration
     */
    public FishLegConfig config() { return config.build(); }

    /**
     * An immutable copy of these settings, checked now.
     * @return a factory that builds FishLeg with these settings for a model
     */
    public OptimizerFactory build() {
        FishLegBuilder b = new FishLegBuilder();
        b.config = config().toBuilder();
        return b;
    }

    @Override public String name() { return "fishleg"; }

    @Override public boolean needsAuxBatches() { return true; }

    /** A FishLeg optimizer; {@code aux} must not be null. */
    @Override
    public Optimizer create(Mlp model, AuxBatchSource aux) {
        if (aux == null) throw new IllegalArgumentException("FishLeg needs an auxiliary batch source (Model.fit supplies one)");
        return new FishLeg(model, config(), aux);
    }

    @Override
    public String toString() { return "fishleg " + config(); }
}
