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
    /**
     * The optimizer's short name, as {@link Optimizer#name()} of what {@link #create} returns.
     * @return the optimizer's name
     */
    String name();

    /**
     * A new optimizer over {@code model}'s parameters (the caller closes it). {@code aux} supplies FishLeg's
     * auxiliary batches; first-order optimizers ignore it (it may be null for them).
     * @param model the model whose parameters the optimizer updates
     * @param aux the source of FishLeg's auxiliary batches, or null
     * @return the optimizer
     */
    Optimizer create(Mlp model, AuxBatchSource aux);

    /**
     * True when {@link #create} needs an auxiliary batch source (FishLeg).
     * @return whether {@link #create} needs an auxiliary batch source
     */
    default boolean needsAuxBatches() { return false; }
}
