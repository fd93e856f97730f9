package org.fishleg.optim;

import java.util.Locale;
import org.fishleg.backend.Backend;
import org.fishleg.backend.Tensor;
import org.fishleg.nn.Mlp;

/**
 * SGD with momentum and L2 weight decay (g' = g + wd p), one fused {@link Backend#momentumStep} per step:
 * <ul>
 *   <li>{@link Form#EMA} (the FishLeg authors' baseline code): m = mu m + (1 - mu) g'; p = p - lr m. The
 *       step size is then comparable to plain SGD with the same lr.</li>
 *   <li>{@link Form#CLASSIC} (torch.optim.SGD): m = mu m + g'; p = p - lr m (steps about 1/(1-mu) larger).</li>
 * </ul>
 * With Nesterov the parameter update uses g' + mu m instead of m. Defaults: the authors' MNIST baseline,
 * lr 0.03, mu 0.9, EMA form. State: "step" and the momentum buffer "m".
 */
public class SgdMomentum extends FirstOrderOptimizer {
    /** Default learning rate (the authors' MNIST baseline). */
    public static final float DEFAULT_LR = 0.03f;
    /** Default momentum coefficient mu. */
    public static final float DEFAULT_MOMENTUM = 0.9f;

    /**
     * A builder of SGD with momentum: lr {@value #DEFAULT_LR}, momentum {@value #DEFAULT_MOMENTUM}, EMA form, no Nesterov, no weight decay.
     * @return a builder of SGD with momentum
     */
    public static SgdBuilder builder() { return new SgdBuilder(true); }

    /** How the momentum buffer accumulates gradients. */
    public enum Form {
        /** m = mu m + (1 - mu) g (exponential moving average; paper code). */
        EMA,
        /** m = mu m + g (heavy ball as in torch.optim.SGD). */
        CLASSIC;

        /**
         * Parses ema, or classic (also heavy-ball, torch).
         * @param s the name, in any case
         * @return the form
         */
        public static Form parse(String s) {
            switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "ema": return EMA;
                case "classic": case "heavy-ball": case "torch": return CLASSIC;
                default: throw new IllegalArgumentException("unknown momentum form '" + s + "' (expected ema or classic)");
            }
        }

        /**
         * The lower-case name used on the command line.
         * @return the name
         */
        public String label() { return name().toLowerCase(Locale.ROOT); }
    }

    private final float mu;
    private final Form form;
    private final boolean nesterov;
    private final Tensor m;

    /**
     * Momentum SGD over a flat vector of {@code size} parameters on {@code backend}.
     * @param backend the backend the parameters live on
     * @param size number of parameters
     * @param lr learning rate
     * @param mu momentum coefficient
     * @param form how the buffer accumulates
     * @param nesterov whether to use Nesterov momentum
     * @param weightDecay L2 coefficient added to the gradient
     */
    public SgdMomentum(Backend backend, int size, float lr, float mu, Form form, boolean nesterov, float weightDecay) {
        super(backend, size, lr, weightDecay);
        checkFinite("momentum", mu);
        if (!(mu >= 0 && mu < 1)) throw new IllegalArgumentException("momentum must be in [0, 1), got " + mu);
        if (form == null) throw new IllegalArgumentException("momentum form is null");
        this.mu = mu;
        this.form = form;
        this.nesterov = nesterov;
        this.m = backend.zeros(1, size);
    }

    /**
     * Momentum SGD over {@code model}'s parameters.
     * @param model the model whose flat parameters are updated
     * @param lr learning rate
     * @param mu momentum coefficient
     * @param form how the buffer accumulates
     * @param nesterov whether to use Nesterov momentum
     * @param weightDecay L2 coefficient added to the gradient
     */
    public SgdMomentum(Mlp model, float lr, float mu, Form form, boolean nesterov, float weightDecay) {
        this(model.backend(), model.paramCount(), lr, mu, form, nesterov, weightDecay);
    }

    @Override public String name() { return "momentum"; }

    /**
     * The momentum coefficient mu.
     * @return mu
     */
    public float momentum() { return mu; }
    /**
     * How the buffer accumulates.
     * @return the form
     */
    public Form form() { return form; }
    /**
     * Whether the update uses Nesterov momentum.
     * @return whether the update uses Nesterov momentum
     */
    public boolean nesterov() { return nesterov; }
    /** The momentum buffer (1 x n). */
    Tensor momentumBuffer() { return m; }

    @Override
    protected void apply(Tensor p, Tensor g, long t) {
        float dampening = form == Form.EMA ? mu : 0f;
        backend.momentumStep(p, g, m, lr, mu, dampening, weightDecay, nesterov);
    }

    @Override protected void saveBuffers(OptimizerState s) { s.put("m", backend.download(m)); }

    @Override protected void loadBuffers(OptimizerState s) { loadArray(s, "m", m); }

    @Override
    void saveHyperParameters(OptimizerState s) {
        s.put("hp.lr", lr);
        s.put("hp.momentum", mu);
        s.put("hp.ema", form == Form.EMA ? 1 : 0);
        s.put("hp.nesterov", nesterov ? 1 : 0);
        s.put("hp.weight_decay", weightDecay);
    }

    @Override protected double updateFlopsPerParameter() { return nesterov ? 8 : 6; }

    @Override
    public String describe() {
        return "momentum(lr=" + fmt(lr) + ", momentum=" + fmt(mu) + ", form=" + form.label()
                + (nesterov ? ", nesterov" : "") + ", weight_decay=" + fmt(weightDecay) + ")";
    }

    @Override
    public void close() {
        if (isClosed()) return;
        markClosed();
        m.close();
    }
}
