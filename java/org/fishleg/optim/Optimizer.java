package org.fishleg.optim;

import org.fishleg.backend.Tensor;
import org.fishleg.nn.Mlp;

/**
 * One training step over a model: compute the mini-batch loss and gradient through the model, update
 * its parameters in place. Implementations run entirely on the model's backend (no host round trip);
 * the loss stays a device scalar until someone reads it.
 */
public interface Optimizer extends AutoCloseable {

    /** Short name ("sgd", "momentum", "adam", "adamw", "fishleg"). */
    String name();

    /**
     * One step on the batch (x, y): writes the batch loss (before the update) into lossOut (1x1) and
     * updates model.params().
     */
    void step(Mlp model, Tensor x, Tensor y, Tensor lossOut);

    /** Number of steps taken. */
    long stepCount();

    /** All state as plain host data (restores exactly with {@link #loadState}). */
    OptimizerState state();

    void loadState(OptimizerState state);

    /** One line of hyper-parameters for logs and metrics headers. */
    String describe();

    /** Frees backend buffers. */
    @Override
    void close();
}
