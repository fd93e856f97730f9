package org.fishleg.optim;

/**
 * Optional interface of an {@link Optimizer} that can estimate the floating-point operations of one full
 * training step (forward, backward and update) at a given batch size. Used by {@code fishleg bench steps}
 * to print GFLOP/step and GFLOP/s next to the measured time.
 */
public interface FlopCounter {
    /**
     * Estimated floating-point operations (multiply and add counted separately) of one step at this batch size.
     * @param batch examples per step
     * @return the estimated operations of one step
     */
    double flopsPerStep(int batch);
}
