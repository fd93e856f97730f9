package org.fishleg.optim;

import java.util.Map;

import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Mlp;

/**
 * Common part of the first-order optimizers (SGD, SGD with momentum, Adam, AdamW): they keep per-parameter
 * buffers in the flat parameter layout of an {@link Mlp} and update the parameters with ONE fused backend op
 * ({@link Backend#momentumStep} / {@link Backend#adamStepAt}) per step, so a step never leaves the device.
 *
 * <p>{@link #step} = {@code model.lossAndGradient(x, y, loss)}, then {@link #update(Tensor, Tensor)} on
 * {@code model.params()} / {@code model.grads()}, then {@code model.projectParams()}. {@link #update} can
 * also be called directly on any 1 x n vector pair (tests, custom losses).
 *
 * <p>State ({@link #state()}): the step count (number "step") and the buffers (arrays "m", "v" where
 * used), downloaded exactly; hyper-parameters are recorded as numbers "hp.*" for information only and are
 * not restored by {@link #loadState} (the optimizer's own settings win).
 */
public abstract class FirstOrderOptimizer implements Optimizer, FlopCounter, LearningRateAdjustable {

    protected final Backend backend;
    /** Number of parameters n (buffers are 1 x n). */
    protected final int size;
    protected float lr;
    protected final float weightDecay;
    private long steps;
    private boolean closed;

    FirstOrderOptimizer(Backend backend, int size, float lr, float weightDecay) {
        if (backend == null) throw new IllegalArgumentException("backend is null");
        if (size <= 0) throw new IllegalArgumentException("parameter count must be positive, got " + size);
        checkFinite("learning rate", lr);
        if (!(lr > 0)) throw new IllegalArgumentException("learning rate must be > 0, got " + lr);
        checkFinite("weight decay", weightDecay);
        if (weightDecay < 0) throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        this.backend = backend;
        this.size = size;
        this.lr = lr;
        this.weightDecay = weightDecay;
    }

    protected static void checkFinite(String what, float v) {
        if (!Float.isFinite(v)) throw new IllegalArgumentException(what + " must be a finite number, got " + v);
    }

    @Override
    public float learningRate() { return lr; }

    @Override
    public void setLearningRate(float lr) { this.lr = LearningRateAdjustable.checked(lr); }

    /**
     * The weight decay coefficient.
     * @return the weight decay
     */
    public float weightDecay() { return weightDecay; }

    /**
     * Number of parameters this optimizer was built for.
     * @return the number of parameters
     */
    public int size() { return size; }

    @Override
    public final void step(Mlp model, Tensor x, Tensor y, Tensor lossOut) {
        enqueueStep(model, x, y, lossOut);
        steps++;
    }

    /** Every step of a first-order optimizer is replayable while its update arguments (the learning rate, and for Adam the bias corrections) repeat. */
    @Override
    public final Object replayKey(int batch) {
        return java.util.List.of(batch, updateKey(steps + 1));
    }

    @Override
    public final void enqueueStep(Mlp model, Tensor x, Tensor y, Tensor lossOut) {
        if (closed) throw new IllegalStateException(name() + " optimizer used after close()");
        if (model.paramCount() != size)
            throw new IllegalArgumentException(name() + " was built for " + size + " parameters, the model has " + model.paramCount());
        model.lossAndGradient(x, y, lossOut);
        apply(model.params(), model.grads(), steps + 1);
        model.projectParams();
    }

    @Override
    public final void stepQueued() { steps++; }

    /**
     * The host values {@link #apply} passes to the backend for update number {@code t} beyond the fixed
     * hyper-parameters (equal keys = identical backend calls). Default: the learning rate.
     */
    Object updateKey(long t) { return lr; }

    /**
     * One update of p (1 x n) from gradient g (1 x n); counts as a step.
     * @param p the parameters, updated in place
     * @param g their gradient
     */
    public final void update(Tensor p, Tensor g) {
        if (closed) throw new IllegalStateException(name() + " optimizer used after close()");
        if (p.size() != size || g.size() != size)
            throw new IllegalArgumentException(name() + ": expected parameter and gradient vectors of " + size
                    + " elements, got " + p.shape() + " and " + g.shape());
        steps++;
        apply(p, g, steps);
    }

    /** Applies update number {@code t} (1-based). */
    protected abstract void apply(Tensor p, Tensor g, long t);

    /** Puts the buffers into the state. */
    abstract void saveBuffers(OptimizerState s);

    /** Restores the buffers from the state (lengths already known to be checked by {@link #loadArray}). */
    abstract void loadBuffers(OptimizerState s);

    /** Hyper-parameters, recorded in the state as "hp.NAME" for information. */
    abstract void saveHyperParameters(OptimizerState s);

    @Override
    public long stepCount() { return steps; }

    @Override
    public OptimizerState state() {
        OptimizerState s = new OptimizerState(name());
        s.put("step", (double) steps);
        s.put("size", (double) size);
        saveHyperParameters(s);
        saveBuffers(s);
        return s;
    }

    @Override
    public void loadState(OptimizerState s) {
        if (!s.optimizer().equals(name()))
            throw new IllegalArgumentException("cannot load " + s.optimizer() + " optimizer state into a " + name() + " optimizer");
        double st = s.number("step");
        if (st < 0 || st != Math.rint(st)) throw new IllegalArgumentException(name() + " state: bad step count " + st);
        if (s.numbers().containsKey("size") && s.number("size") != size)
            throw new IllegalArgumentException(name() + " state is for " + (long) s.number("size") + " parameters, this optimizer has " + size);
        OptimizerState mine = new OptimizerState(name());
        saveBuffers(mine); // the names this optimizer keeps (a download of its buffers, once per resume)
        for (Map.Entry<String, float[]> e : s.arrays().entrySet()) // all names and lengths before any upload
            if (!mine.arrays().containsKey(e.getKey()))
                throw new IllegalArgumentException(name() + " state array '" + e.getKey() + "' is not part of this optimizer's state");
            else if (e.getValue().length != size)
                throw new IllegalArgumentException(name() + " state array '" + e.getKey() + "' has " + e.getValue().length
                        + " elements, expected " + size);
        loadBuffers(s);
        steps = (long) st;
    }

    /** Uploads state array {@code key} into {@code dst} after checking its length. */
    void loadArray(OptimizerState s, String key, Tensor dst) {
        float[] a = s.array(key);
        if (a.length != size)
            throw new IllegalArgumentException(name() + " state array '" + key + "' has " + a.length + " elements, expected " + size);
        backend.upload(a, dst);
    }

    /**
     * Forward (2 B P) and backward (4 B P) matrix products of a dense network dominate: about 6 x batch x
     * parameters, plus the update's operations per parameter x P.
     */
    @Override
    public double flopsPerStep(int batch) {
        return 6.0 * batch * (double) size + updateFlopsPerParameter() * (double) size;
    }

    /** Elementwise operations of the update per parameter. */
    abstract double updateFlopsPerParameter();

    /**
     * Shortest decimal form of a float hyper-parameter: 0.03, 0.0001, 1E-8, 0.
     * @param v the value
     * @return its shortest decimal text
     */
    public static String fmt(float v) {
        if (!Float.isFinite(v)) return Float.toString(v);
        if (v == 0f) return "0";
        return new java.math.BigDecimal(Float.toString(v)).stripTrailingZeros().toString();
    }

    void markClosed() { closed = true; }

    protected boolean isClosed() { return closed; }
}
