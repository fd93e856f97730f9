package org.fishleg.optim;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.fishleg.nn.Mlp;
import org.fishleg.optim.fishleg.AuxBatchSource;
import org.fishleg.optim.fishleg.FishLeg;
import org.fishleg.optim.fishleg.FishLegConfig;
import org.fishleg.optim.kfac.Kfac;
import org.fishleg.optim.kfac.KfacConfig;

/**
 * Builds any optimizer of the project from a name and {@link Options}. Names:
 * <ul>
 *   <li>{@code sgd}: plain SGD (default lr {@value Sgd#DEFAULT_LR}).</li>
 *   <li>{@code momentum}: SGD with momentum, EMA form of the authors' code by default (lr 0.03, mu 0.9).</li>
 *   <li>{@code adam}: Adam, L2 weight decay in the gradient (the papers' recipe: lr 1e-4, betas (0.9, 0.9), eps 1e-4;
 *       {@link Adam#builder()} has PyTorch's defaults instead).</li>
 *   <li>{@code adamw}: Adam with decoupled weight decay (same, weight decay 1e-2).</li>
 *   <li>{@code fishleg}: FishLeg with the given {@link FishLegConfig} (default: the JAX MNIST preset).</li>
 *   <li>{@code fishleg-qg}: FishLeg in the OCaml / PyTorch-library ordering on top of that config: u = g/||g||
 *       of the current batch, momentum on the natural gradient Q g, low-rank Q g.</li>
 *   <li>{@code kfac}: KFAC with the given {@link KfacConfig} (default {@link KfacConfig#defaults()}; lr, momentum
 *       and weight decay options override it).</li>
 * </ul>
 * Options left null take the per-model recipe of {@link Recipes} (the authors' baselines,
 * fishleg-algorithm.md section 5; what {@code fishleg train} uses) and the class defaults.
 */
public final class Optimizers {
    private Optimizers() {}

    /**
     * Optimizer names accepted by {@link #create}, with a one-line description each.
     * @return description by name, in a fixed order
     */
    public static Map<String, String> names() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("sgd", "plain SGD");
        m.put("momentum", "SGD with momentum (ema: m = mu m + (1-mu) g, or classic: m = mu m + g; optional Nesterov)");
        m.put("adam", "Adam, weight decay as L2 in the gradient");
        m.put("adamw", "Adam with decoupled weight decay");
        m.put("fishleg", "FishLeg (config from --fishleg-preset and the FishLeg options)");
        m.put("fishleg-qg", "FishLeg with u = current gradient, momentum on Q g and low-rank Q g (OCaml ordering)");
        m.put("fishleg-g", "FishLeg with momentum on the gradient, u = gbar/|gbar| and Q applied to gbar (JAX ordering)");
        m.put("kfac", "KFAC (Kronecker-factored curvature, damped inverses every few steps, gradient momentum, L2 1e-5)");
        return m;
    }

    /** Hyper-parameters; null means "the default for this optimizer and model". */
    public static final class Options {
        /** Learning rate. */
        public Float lr;
        /** Momentum coefficient (momentum). */
        public Float momentum;
        /** Momentum form (momentum). */
        public SgdMomentum.Form momentumForm;
        /** Nesterov momentum (momentum). */
        public Boolean nesterov;
        /** Adam(W) moment decay rates and epsilon. */
        public Float beta1, beta2, eps;
        /** Weight decay (L2 for sgd, momentum and adam; decoupled for adamw). */
        public Float weightDecay;
        /** FishLeg configuration (already merged with preset and explicit options); null = per-model preset. */
        public FishLegConfig fishLeg;
        /** KFAC configuration; null = {@link KfacConfig#defaults()}. */
        public KfacConfig kfac;
        /** Named model ("mnist-ae", "faces-ae", "dln", ...) for per-model default learning rates; may be null. */
        public String modelName;
        /** Training batch size, for batch-dependent defaults ({@link Recipes#fishLegPreset(String, Integer)}); may be null. */
        public Integer batchSize;

        /**
         * Sets {@link #batchSize}.
         * @param v the training batch size, or null when unknown
         * @return these options
         */
        public Options batchSize(Integer v) { batchSize = v; return this; }

        /**
         * Sets {@link #lr}.
         * @param v the learning rate, or null for the recipe's
         * @return these options
         */
        public Options lr(Float v) { lr = v; return this; }
        /**
         * Sets {@link #momentum}.
         * @param v the momentum coefficient, or null for the default
         * @return these options
         */
        public Options momentum(Float v) { momentum = v; return this; }
        /**
         * Sets {@link #momentumForm}.
         * @param v the momentum form, or null for the default
         * @return these options
         */
        public Options momentumForm(SgdMomentum.Form v) { momentumForm = v; return this; }
        /**
         * Sets {@link #nesterov}.
         * @param v whether to use Nesterov momentum, or null for the default
         * @return these options
         */
        public Options nesterov(Boolean v) { nesterov = v; return this; }
        /**
         * Sets {@link #beta1} and {@link #beta2}.
         * @param b1 beta1, or null for the recipe's
         * @param b2 beta2, or null for the recipe's
         * @return these options
         */
        public Options betas(Float b1, Float b2) { beta1 = b1; beta2 = b2; return this; }
        /**
         * Sets {@link #eps}.
         * @param v epsilon, or null for the recipe's
         * @return these options
         */
        public Options eps(Float v) { eps = v; return this; }
        /**
         * Sets {@link #weightDecay}.
         * @param v the weight decay, or null for the default
         * @return these options
         */
        public Options weightDecay(Float v) { weightDecay = v; return this; }
        /**
         * Sets {@link #fishLeg}.
         * @param v the FishLeg settings, or null for the model's preset
         * @return these options
         */
        public Options fishLeg(FishLegConfig v) { fishLeg = v; return this; }
        /**
         * Sets {@link #kfac}.
         * @param v the KFAC settings, or null for the defaults
         * @return these options
         */
        public Options kfac(KfacConfig v) { kfac = v; return this; }
        /**
         * Sets {@link #modelName}.
         * @param v the named model whose recipe fills the unset options, or null
         * @return these options
         */
        public Options modelName(String v) { modelName = v; return this; }
    }

    /**
     * Normalised optimizer name, or an IllegalArgumentException listing the known names.
     * @param name an optimizer name, in any case
     * @return the name as {@link #names()} has it
     */
    public static String canonicalName(String name) {
        if (name == null) throw new IllegalArgumentException("optimizer name is missing");
        String n = name.trim().toLowerCase(Locale.ROOT);
        switch (n) {
            case "sgd-momentum": case "sgdm": return "momentum";
            case "fishleg_qg": case "fishleg-variant": return "fishleg-qg";
            case "fishleg_g": return "fishleg-g";
            default:
                if (!names().containsKey(n))
                    throw new IllegalArgumentException("unknown optimizer '" + name + "' (expected one of "
                            + String.join(", ", names().keySet()) + ")");
                return n;
        }
    }

    /** The recipe learning rate of an optimizer on a named model: {@link Recipes#lr}. */
    static float defaultLr(String optimizer, String modelName) {
        return Recipes.lr(optimizer, modelName);
    }

    /** The FishLeg preset used when none is named: {@link Recipes#fishLegPreset}. */
    static String defaultFishLegPreset(String modelName) {
        return Recipes.fishLegPreset(modelName);
    }

    /** The configuration of {@link #defaultFishLegPreset}. */
    static FishLegConfig defaultFishLegConfig(String modelName) {
        return defaultFishLegConfig(modelName, null);
    }

    /** The default configuration at a batch size: {@link Recipes#fishLegConfig(String, Integer)}. */
    static FishLegConfig defaultFishLegConfig(String modelName, Integer batchSize) {
        return Recipes.fishLegConfig(modelName, batchSize);
    }

    /** The {@code fishleg-g} variant of a config: momentum on the gradient, u = gbar / |gbar| (JAX ordering); other settings kept. */
    static FishLegConfig gVariant(FishLegConfig c) {
        return c.toBuilder().ordering(FishLegConfig.Ordering.MOMENTUM_ON_GRADIENT)
                .auxDirection(FishLegConfig.AuxDirection.MOMENTUM_GRADIENT).build();
    }

    /**
     * The {@code fishleg-qg} variant of a config: current-gradient direction, momentum on Q g, weight
     * decay outside Q (so Q acts on the plain batch gradient), low-rank Q g; other settings kept.
     * @param c a FishLeg configuration
     * @return the qg variant of it
     */
    public static FishLegConfig qgVariant(FishLegConfig c) {
        return c.toBuilder().ordering(FishLegConfig.Ordering.MOMENTUM_ON_NATURAL_GRADIENT)
                .auxDirection(FishLegConfig.AuxDirection.CURRENT_GRADIENT).decoupledWeightDecay(true).lowRank(true).build();
    }

    /**
     * Builds the named optimizer for {@code model}. {@code aux} supplies FishLeg's auxiliary batches (may be
     * null for the first-order optimizers).
     * @param name an optimizer name of {@link #names()}
     * @param model the model whose parameters the optimizer updates
     * @param o the options; unset ones come from the recipe of {@link Options#modelName}
     * @param aux the source of FishLeg's auxiliary batches, or null
     * @return the optimizer; the caller closes it
     */
    public static Optimizer create(String name, Mlp model, Options o, AuxBatchSource aux) {
        if (o == null) o = new Options();
        String n = canonicalName(name);
        float lr = o.lr != null ? o.lr : defaultLr(n, o.modelName);
        switch (n) {
            case "sgd":
                return new Sgd(model, lr, orZero(o.weightDecay));
            case "momentum":
                return new SgdMomentum(model, lr, o.momentum != null ? o.momentum : SgdMomentum.DEFAULT_MOMENTUM,
                        o.momentumForm != null ? o.momentumForm : SgdMomentum.Form.EMA,
                        o.nesterov != null && o.nesterov, orZero(o.weightDecay));
            case "adam":
                return new Adam(model, lr, or(o.beta1, Recipes.PAPER_ADAM_BETA1), or(o.beta2, Recipes.PAPER_ADAM_BETA2),
                        or(o.eps, Recipes.PAPER_ADAM_EPS), orZero(o.weightDecay));
            case "adamw":
                return new AdamW(model, lr, or(o.beta1, Recipes.PAPER_ADAM_BETA1), or(o.beta2, Recipes.PAPER_ADAM_BETA2),
                        or(o.eps, Recipes.PAPER_ADAM_EPS), or(o.weightDecay, AdamW.DEFAULT_WEIGHT_DECAY));
            case "kfac": {
                KfacConfig.Builder kb = (o.kfac != null ? o.kfac : Recipes.kfacConfig(o.modelName)).toBuilder();
                if (o.lr != null) kb.lr(o.lr);
                if (o.momentum != null) kb.momentum(o.momentum);
                if (o.weightDecay != null) kb.weightDecay(o.weightDecay);
                return new Kfac(model, kb.build());
            }
            default: {
                FishLegConfig cfg = o.fishLeg != null ? o.fishLeg : defaultFishLegConfig(o.modelName, o.batchSize);
                FishLegConfig.Builder b = cfg.toBuilder();
                if (o.lr != null) b.lr(o.lr);
                if (o.weightDecay != null) b.weightDecay(o.weightDecay);
                if (o.momentum != null) b.beta(o.momentum);
                cfg = b.build();
                if (n.equals("fishleg-qg")) cfg = qgVariant(cfg);
                if (n.equals("fishleg-g")) cfg = gVariant(cfg);
                if (aux == null) throw new IllegalArgumentException("FishLeg needs an auxiliary batch source");
                return newFishLeg(model, cfg, aux);
            }
        }
    }

    private static float or(Float v, float d) { return v != null ? v : d; }

    private static float orZero(Float v) { return v != null ? v : 0f; }

    /** {@code new FishLeg(model, cfg, aux)}. */
    static Optimizer newFishLeg(Mlp model, FishLegConfig cfg, AuxBatchSource aux) {
        return new FishLeg(model, cfg, aux);
    }
}
