package org.fishleg.optim;

import org.fishleg.backend.Tensor;
import org.fishleg.nn.Mlp;

/**
 * One training step over a model: compute the mini-batch loss and gradient through the model, update
 * its parameters in place. Implementations run entirely on the model's backend (no host round trip);
 * the loss stays a device scalar until someone reads it.
 */
public interface Optimizer extends AutoCloseable {

    /**
     * Short name ("sgd", "momentum", "adam", "adamw", "fishleg").
     * @return the optimizer's name
     */
    String name();

    /**
     * One step on the batch (x, y): writes the batch loss (before the update) into lossOut (1x1) and
     * updates model.params().
     * @param model the model whose parameters are updated
     * @param x the batch inputs
     * @param y the batch targets
     * @param lossOut a 1x1 tensor that receives the batch loss
     */
    void step(Mlp model, Tensor x, Tensor y, Tensor lossOut);

    // ---------------------------------------------------------------- graph replay

    /**
     * Names the backend work of the next step on a batch of {@code batch} rows: two steps with equal keys
     * (on the same model and batch tensors) queue exactly the same backend operations with the same
     * arguments, so the second may replay a {@link org.fishleg.backend.Backend.Graph} captured from the
     * first. Null when the next step depends on values the host computes per step (a new auxiliary batch,
     * bias corrections that still change) and must run through {@link #step}. Default: null (never replayed).
     * @param batch the batch size of the next step
     * @return a key naming the work of the next step, or null when it cannot be replayed
     */
    default Object replayKey(int batch) { return null; }

    /**
     * Host-side work of the next step that a graph cannot hold (e.g. gathering FishLeg's auxiliary batch
     * with host indices), queued before {@link #enqueueStep} or before launching a graph captured from it.
     * {@link #step} does it itself. Default: nothing.
     */
    default void prepareStep() {}

    /**
     * Queues the backend work of the next step exactly as {@link #step} would (after {@link #prepareStep}),
     * but changes no host-side
     * state (counters), allocates nothing and copies nothing to or from the host, so it can be captured
     * into a graph. Only allowed when {@link #replayKey} is not null; follow it (or each replay of a
     * graph captured from it) by {@link #stepQueued()}.
     * @param model the model whose parameters are updated
     * @param x the batch inputs
     * @param y the batch targets
     * @param lossOut a 1x1 tensor that receives the batch loss
     */
    default void enqueueStep(Mlp model, Tensor x, Tensor y, Tensor lossOut) {
        throw new UnsupportedOperationException(name() + " steps cannot be captured");
    }

    /** The host-side bookkeeping of one step whose work was queued by {@link #enqueueStep} or a replay of it. */
    default void stepQueued() {
        throw new UnsupportedOperationException(name() + " steps cannot be captured");
    }

    /**
     * Number of steps taken.
     * @return the steps taken so far
     */
    long stepCount();

    /**
     * All state as plain host data (restores exactly with {@link #loadState}).
     * @return the state, copied to the host
     */
    OptimizerState state();

    /**
     * Restores the state saved by {@link #state} (same model shape and optimizer).
     * @param state a state saved by {@link #state}
     */
    void loadState(OptimizerState state);

    /**
     * One line of hyper-parameters for logs and metrics headers.
     * @return the description
     */
    String describe();

    /** Frees backend buffers. */
    @Override
    void close();
}
