package org.fishleg.optim.fishleg;

import org.fishleg.backend.Tensor;

/** Supplies FishLeg's auxiliary mini-batches (inputs only; targets are sampled from the model). */
public interface AuxBatchSource {
    /**
     * Fills x (auxBatchSize x input width) with the next auxiliary batch's inputs.
     * @param x the tensor to fill, auxBatchSize rows of the model's input width
     */
    void next(Tensor x);
}
