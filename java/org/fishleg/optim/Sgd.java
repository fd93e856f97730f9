package org.fishleg.optim;

import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Mlp;

/**
 * Plain stochastic gradient descent with optional L2 weight decay: p = p - lr (g + wd p). One fused
 * {@link Backend#momentumStep} with mu = 0 (its momentum buffer is scratch and not part of the state).
 */
public class Sgd extends FirstOrderOptimizer {
    /** Default learning rate of the command line for plain SGD. */
    public static final float DEFAULT_LR = 0.01f;

    /**
     * A builder of plain SGD: lr {@value #DEFAULT_LR}, no weight decay.
     * @return a builder of SGD
     */
    public static SgdBuilder builder() { return new SgdBuilder(false); }

    private final Tensor scratch;

    /**
     * SGD over a flat vector of {@code size} parameters on {@code backend}.
     * @param backend the backend the parameters live on
     * @param size number of parameters
     * @param lr learning rate
     * @param weightDecay L2 coefficient added to the gradient
     */
    public Sgd(Backend backend, int size, float lr, float weightDecay) {
        super(backend, size, lr, weightDecay);
        scratch = backend.zeros(1, size);
    }

    /**
     * SGD over {@code model}'s parameters.
     * @param model the model whose flat parameters are updated
     * @param lr learning rate
     * @param weightDecay L2 coefficient added to the gradient
     */
    public Sgd(Mlp model, float lr, float weightDecay) { this(model.backend(), model.paramCount(), lr, weightDecay); }

    @Override public String name() { return "sgd"; }

    @Override
    protected void apply(Tensor p, Tensor g, long t) {
        backend.momentumStep(p, g, scratch, lr, 0f, 0f, weightDecay, false);
    }

    @Override protected void saveBuffers(OptimizerState s) {}
    @Override protected void loadBuffers(OptimizerState s) {}

    @Override
    void saveHyperParameters(OptimizerState s) {
        s.put("hp.lr", lr);
        s.put("hp.weight_decay", weightDecay);
    }

    @Override protected double updateFlopsPerParameter() { return 4; }

    @Override
    public String describe() { return "sgd(lr=" + fmt(lr) + ", weight_decay=" + fmt(weightDecay) + ")"; }

    @Override
    public void close() {
        if (isClosed()) return;
        markClosed();
        scratch.close();
    }
}
