package org.fishleg.optim;

import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Mlp;

/**
 * Adam with bias correction, one fused {@link Backend#adamStepAt} per step (step count on the device). Weight decay is L2 in the
 * gradient (g' = g + wd p, the decay is then rescaled by Adam like any gradient); {@link AdamW} decouples it
 * (p -= lr wd p outside the adaptive scaling).
 *
 * <pre>
 *   m = b1 m + (1-b1) g';  v = b2 v + (1-b2) g'^2;  p = p - lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 * </pre>
 *
 * Defaults: PyTorch's ({@code torch.optim.Adam}): lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay
 * ({@link #builder()}). The FishLeg authors' baseline (lr 1e-4, betas (0.9, 0.9), eps 1e-4) is the recipe
 * {@link Recipes#adam(String)}, which {@code fishleg train} uses.
 * State: "step", the moments "m" and "v".
 */
public class Adam extends FirstOrderOptimizer {
    /** Library default learning rate (PyTorch's). */
    public static final float DEFAULT_LR = 1e-3f;
    /** Library default first-moment decay (PyTorch's). */
    public static final float DEFAULT_BETA1 = 0.9f;
    /** Library default second-moment decay (PyTorch's; the FishLeg authors use 0.9, {@link Recipes#PAPER_ADAM_BETA2}). */
    public static final float DEFAULT_BETA2 = 0.999f;
    /** Library default epsilon (PyTorch's; the FishLeg authors use 1e-4, {@link Recipes#PAPER_ADAM_EPS}). */
    public static final float DEFAULT_EPS = 1e-8f;

    /**
     * A builder with the library defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.
     * @return a builder of Adam
     */
    public static AdamBuilder builder() { return new AdamBuilder(false); }

    private final float beta1, beta2, eps;
    private final boolean decoupled;
    private final Tensor m, v;
    /** Steps taken, as a device scalar the update reads its bias corrections from (so graph replays keep counting). */
    private final Tensor count, one;

    protected Adam(Backend backend, int size, float lr, float beta1, float beta2, float eps, float weightDecay, boolean decoupled) {
        super(backend, size, lr, weightDecay);
        checkFinite("beta1", beta1);
        checkFinite("beta2", beta2);
        checkFinite("eps", eps);
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
        if (!(eps > 0)) throw new IllegalArgumentException("eps must be > 0, got " + eps);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.decoupled = decoupled;
        this.m = backend.zeros(1, size);
        this.v = backend.zeros(1, size);
        this.count = backend.zeros(1, 1);
        this.one = backend.upload(new float[] {1f}, 1, 1);
    }

    /**
     * Adam with L2 weight decay in the gradient.
     * @param backend the backend the parameters live on
     * @param size number of parameters
     * @param lr learning rate
     * @param beta1 first-moment decay rate
     * @param beta2 second-moment decay rate
     * @param eps added to the root of the second moment
     * @param weightDecay L2 coefficient added to the gradient
     */
    public Adam(Backend backend, int size, float lr, float beta1, float beta2, float eps, float weightDecay) {
        this(backend, size, lr, beta1, beta2, eps, weightDecay, false);
    }

    /**
     * Adam with L2 weight decay over {@code model}'s parameters.
     * @param model the model whose flat parameters are updated
     * @param lr learning rate
     * @param beta1 first-moment decay rate
     * @param beta2 second-moment decay rate
     * @param eps added to the root of the second moment
     * @param weightDecay L2 coefficient added to the gradient
     */
    public Adam(Mlp model, float lr, float beta1, float beta2, float eps, float weightDecay) {
        this(model.backend(), model.paramCount(), lr, beta1, beta2, eps, weightDecay, false);
    }

    @Override public String name() { return "adam"; }

    /**
     * First-moment decay rate.
     * @return beta1
     */
    public float beta1() { return beta1; }
    /**
     * Second-moment decay rate.
     * @return beta2
     */
    public float beta2() { return beta2; }
    /**
     * Epsilon added to the root of the second moment.
     * @return epsilon
     */
    public float eps() { return eps; }
    /**
     * True for AdamW (decoupled weight decay).
     * @return whether the weight decay is decoupled
     */
    public boolean decoupled() { return decoupled; }
    /** The first moment m (1 x n, live). */
    Tensor firstMoment() { return m; }
    /** The second moment v (1 x n, live). */
    Tensor secondMoment() { return v; }

    /**
     * Update t: the device step count goes to t and {@link Backend#adamStepAt} takes the bias corrections
     * 1 - beta^t from it (the same float values the host would compute), so every step after the first
     * replays from one captured graph.
     */
    @Override
    protected void apply(Tensor p, Tensor g, long t) {
        float l2 = decoupled ? 0f : weightDecay;
        float dwd = decoupled ? weightDecay : 0f;
        backend.scalarMulAdd(1f, one, one, 1f, count);
        backend.adamStepAt(p, g, m, v, lr, beta1, beta2, eps, l2, dwd, count);
    }

    @Override
    void saveBuffers(OptimizerState s) {
        s.put("m", backend.download(m));
        s.put("v", backend.download(v));
    }

    @Override
    void loadBuffers(OptimizerState s) {
        loadArray(s, "m", m);
        loadArray(s, "v", v);
        backend.upload(new float[] {(float) s.number("step")}, count);
    }

    @Override
    void saveHyperParameters(OptimizerState s) {
        s.put("hp.lr", lr);
        s.put("hp.beta1", beta1);
        s.put("hp.beta2", beta2);
        s.put("hp.eps", eps);
        s.put("hp.weight_decay", weightDecay);
        s.put("hp.decoupled", decoupled ? 1 : 0);
    }

    @Override protected double updateFlopsPerParameter() { return 14; }

    @Override
    public String describe() {
        return name() + "(lr=" + fmt(lr) + ", betas=(" + fmt(beta1) + ", " + fmt(beta2) + "), eps=" + fmt(eps)
                + ", weight_decay=" + fmt(weightDecay) + (decoupled ? " decoupled" : " in gradient") + ")";
    }

    @Override
    public void close() {
        if (isClosed()) return;
        markClosed();
        m.close();
        v.close();
        count.close();
        one.close();
    }
}
