package org.fishleg.optim;

/**
 * An optimizer whose learning rate can change between steps, as a schedule
 * ({@link org.fishleg.train.LrSchedule}) does. Every built-in optimizer is one. The other hyper-parameters stay
 * those it was built with; {@link Optimizer#state()} does not record the learning rate (a resumed run sets it
 * again from its schedule).
 */
public interface LearningRateAdjustable {

    /**
     * The learning rate the next step uses.
     * @return the learning rate
     */
    float learningRate();

    /**
     * Changes the learning rate of later steps.
     * @param lr the new learning rate, finite and &gt; 0
     * @throws IllegalArgumentException when lr is not finite or not positive
     */
    void setLearningRate(float lr);

    /**
     * Checks a learning rate for {@link #setLearningRate}.
     * @param lr a learning rate
     * @return lr when it is finite and &gt; 0
     * @throws IllegalArgumentException otherwise, naming the value
     */
    static float checked(float lr) {
        if (!Float.isFinite(lr) || !(lr > 0)) throw new IllegalArgumentException("learning rate must be a finite number > 0, got " + lr);
        return lr;
    }
}
