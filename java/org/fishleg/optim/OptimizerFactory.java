package org.fishleg.optim;

import org.fishleg.nn.Mlp;
import org.fishleg.optim.fishleg.AuxBatchSource;

/**
 * A recipe for an optimizer, not yet bound to a model: what the optimizer builders ({@link Adam#builder()},
 * {@link AdamW#builder()}, {@link Sgd#builder()}, {@link SgdMomentum#builder()},
 * {@link org.fishleg.optim.fishleg.FishLeg#builder()}) and {@link Recipes} return, and what
 * {@code org.fishleg.api.Model#fit} takes. The caller of {@link #create} supplies the model and, for
 * FishLeg, the auxiliary batches (the facade builds them from the training data).
 */
public interface OptimizerFactory {
    /** The optimizer's short name, as {@link Optimizer#name()} of what {@link #create} returns. */
    String name();

    /**
     * A new optimizer over {@code model}'s parameters (the caller closes it). {@code aux} supplies FishLeg's
     * auxiliary batches; first-order optimizers ignore it (it may be null for them).
     */
    Optimizer create(Mlp model, AuxBatchSource aux);

    /** True when {@link #create} needs an auxiliary batch source (FishLeg). */
    default boolean needsAuxBatches() { return false; }
}
