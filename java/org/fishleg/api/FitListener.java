package org.fishleg.api;

/** Told about each epoch of a {@link Model#fit} as it ends (progress output, early stopping decisions, ...). */
@FunctionalInterface
public interface FitListener {
    /**
     * Called on the training thread after each epoch's evaluation.
     * @param epoch the epoch that just ended, with its training loss and test metrics
     */
    void onEpoch(History.Epoch epoch);
}
